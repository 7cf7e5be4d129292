"""Search filters: which folders, which dates. Dates are what a person types, checked here.

`after` and `before` both include the period they name: `--after 2024-06 --before 2024-08`
is June, July and August. Times are the camera's local wall clock (what EXIF records). Bounds
are written as the catalog writes dates (four-digit years), so they compare as dates; a bound
past the last representable moment (`--before 9999`) is no bound.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta
from pathlib import Path

from photosearch.records import MEDIA_KINDS, SearchFilter

from .query import QuerySyntaxError

_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?)?)?$")


def _stamp(moment: datetime) -> str:
    """As the catalog writes dates: "YYYY-MM-DD HH:MM:SS" with a four-digit year (strftime's %Y
    leaves years before 1000 unpadded on some systems, and they would compare as text)."""
    return f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}"


def _period(text: str) -> tuple[datetime, datetime | None]:
    """The first moment of the period `text` names and the first moment after it (None: after
    the last moment a date can name)."""
    match = _DATE.match(text.strip())
    if not match:
        raise QuerySyntaxError(f"not a date: {text!r} (write YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DD HH:MM)")
    year, month, day, hour, minute, second = (int(g) if g is not None else None for g in match.groups())
    assert year is not None  # the pattern requires it
    try:  # a month or day of 0, or year 0, is no date: never read as the first one
        start = datetime(year, 1 if month is None else month, 1 if day is None else day, hour or 0, minute or 0, second or 0)
    except ValueError as exc:
        raise QuerySyntaxError(f"not a date: {text!r} ({exc})") from None
    try:
        if second is not None:
            return start, start + timedelta(seconds=1)
        if minute is not None:
            return start, start + timedelta(minutes=1)
        if day is not None:
            return start, start + timedelta(days=1)
        if month is not None:
            return start, datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
        return start, datetime(start.year + 1, 1, 1)
    except (ValueError, OverflowError):  # the period ends with the calendar (year 9999)
        return start, None


def date_bounds(after: str | None, before: str | None) -> tuple[str | None, str | None]:
    """(lowest allowed, first excluded) as catalog timestamps, from what the user typed; an
    empty text is not a date (a caller without a bound passes None)."""
    lower = _period(after)[0] if after is not None else None
    upper = _period(before)[1] if before is not None else None
    if lower is not None and upper is not None and lower >= upper:
        raise QuerySyntaxError(f"no date is after {after} and before {before}")
    return (_stamp(lower) if lower else None, _stamp(upper) if upper else None)


def check_filter(search_filter: SearchFilter) -> SearchFilter:
    """The filter with its folders made absolute; raises QuerySyntaxError for a bad date or kind."""
    date_bounds(search_filter.after, search_filter.before)
    unknown = [kind for kind in search_filter.kinds if kind not in MEDIA_KINDS]
    if unknown:
        raise QuerySyntaxError(f"no such kind: {unknown[0]} (use {', '.join(MEDIA_KINDS)})")
    folders = tuple(str(Path(f).expanduser().resolve()) for f in search_filter.folders)
    return dataclasses.replace(search_filter, folders=folders)
