"""Search filters: which folders, which dates. Dates are what a person types, checked here.

`after` and `before` both include the period they name: `--after 2024-06 --before 2024-08`
is June, July and August. Times are the camera's local wall clock (what EXIF records).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from photosearch.records import SearchFilter

from .query import QuerySyntaxError

_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?)?)?$")
_STAMP = "%Y-%m-%d %H:%M:%S"


def _period(text: str) -> tuple[datetime, datetime]:
    """The first moment of the period `text` names and the first moment after it."""
    match = _DATE.match(text.strip())
    if not match:
        raise QuerySyntaxError(f"not a date: {text!r} (write YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DD HH:MM)")
    year, month, day, hour, minute, second = (int(g) if g is not None else None for g in match.groups())
    try:
        start = datetime(year or 1, month or 1, day or 1, hour or 0, minute or 0, second or 0)
    except ValueError as exc:
        raise QuerySyntaxError(f"not a date: {text!r} ({exc})") from None
    if second is not None:
        return start, start + timedelta(seconds=1)
    if minute is not None:
        return start, start + timedelta(minutes=1)
    if day is not None:
        return start, start + timedelta(days=1)
    if month is not None:
        return start, datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, datetime(start.year + 1, 1, 1)


def date_bounds(after: str | None, before: str | None) -> tuple[str | None, str | None]:
    """(lowest allowed, first excluded) as catalog timestamps, from what the user typed."""
    lower = _period(after)[0] if after else None
    upper = _period(before)[1] if before else None
    if lower is not None and upper is not None and lower >= upper:
        raise QuerySyntaxError(f"no date is after {after} and before {before}")
    return (lower.strftime(_STAMP) if lower else None, upper.strftime(_STAMP) if upper else None)


def check_filter(search_filter: SearchFilter) -> SearchFilter:
    """The filter with its folders made absolute; raises QuerySyntaxError for a bad date."""
    date_bounds(search_filter.after, search_filter.before)
    folders = tuple(str(Path(f).expanduser().resolve()) for f in search_filter.folders)
    return SearchFilter(folders, search_filter.after, search_filter.before)
