"""What can still be read from a damaged catalog: the user's own choices, which no scan finds again.

A backup is up to a day old and a fresh catalog knows nothing: the folders added since, the
folders excluded and the model chosen would be lost with the damaged file, while SQLite can
usually still read the pages that hold them (damage is a page or a few). Each piece is read on
its own, table by table and, where a table's pages are damaged, row by row, so damage in one
place costs only what lies there. Photos and their vectors are not salvaged: a scan finds the
photos again and indexing embeds the few that the backup lacks.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .catalog import EXCLUDED_KEY, CatalogError, open_read_only
from .path_text import from_db

T = TypeVar("T")
MODEL_KEY = "model"
_PROBE_LIMIT = 100_000  # row ids tried one by one when a table's own pages cannot be walked


@dataclass(frozen=True)
class Salvage:
    """What was read back; None where that piece could not be read at all."""

    folders: tuple[str, ...] | None
    folders_complete: bool  # every folder row was read (else some may be missing)
    excluded: tuple[str, ...] | None
    model: str | None
    photos: int | None  # photos the damaged catalog held, when they can be counted


def salvage(path: Path) -> Salvage:
    """Read what can be read of the catalog file at `path` (with its write-ahead log beside it)."""
    try:
        db = open_read_only(path)
    except (sqlite3.Error, CatalogError):
        return Salvage(None, False, None, None, None)
    try:
        folders, complete = _folders(db)
        meta = _rows(db, "SELECT key, value FROM meta", "meta", limit=10_000)
        values = dict(meta) if meta is not None else {}
        model = values.get(MODEL_KEY)
        return Salvage(
            folders=folders,
            folders_complete=complete,
            excluded=_excluded(values.get(EXCLUDED_KEY)),
            model=model if isinstance(model, str) and model else None,
            photos=_attempt(lambda: int(db.execute("SELECT COUNT(*) FROM photos").fetchone()[0])),
        )
    finally:
        db.close()


def _folders(db: sqlite3.Connection) -> tuple[tuple[str, ...] | None, bool]:
    rows = _attempt(lambda: db.execute("SELECT path FROM folders").fetchall())
    if rows is not None:
        return tuple(from_db(str(row[0])) for row in rows), True
    probed = _rows(db, "SELECT path FROM folders", "folders")
    return (None, False) if probed is None else (tuple(from_db(str(row[0])) for row in probed), False)


def _rows(db: sqlite3.Connection, select: str, table: str, limit: int = _PROBE_LIMIT) -> list[tuple] | None:
    """All rows of `select`, or those that can be read one row id at a time (up to `limit`)."""
    whole = _attempt(lambda: db.execute(select).fetchall())
    if whole is not None:
        return whole
    last = _attempt(lambda: db.execute("SELECT seq FROM sqlite_sequence WHERE name=?", (table,)).fetchone())
    highest = min(int(last[0]), limit) if last else limit
    found: list[tuple] = []
    for rowid in range(1, highest + 1):
        row = _attempt(lambda rowid=rowid: db.execute(f"{select} WHERE rowid=?", (rowid,)).fetchone())  # type: ignore[misc]
        if row:
            found.append(row)
    return found or None


def _excluded(raw: object) -> tuple[str, ...] | None:
    if not isinstance(raw, str):
        return None
    try:
        paths = json.loads(raw)
    except ValueError:
        return None
    return tuple(str(p) for p in paths if isinstance(p, str)) if isinstance(paths, list) else None


def _attempt(read: Callable[[], T]) -> T | None:
    try:
        return read()
    except sqlite3.Error:
        return None
