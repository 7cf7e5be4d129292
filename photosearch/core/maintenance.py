"""Keeping a library's catalog sound: checking it, backing it up, and repairing it.

The catalog is the one thing in a library that cannot be rebuilt from anything else, so it is
checked where that is cheap, copied (verified) at most daily by the writer, and a damaged one
is replaced from that copy or, without one, by a fresh catalog that keeps the folders: the
damaged file itself is always kept aside.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from photosearch.records import CatalogHealth

from .catalog import Catalog, CatalogDamaged, CatalogError, damage_message, holds_no_schema
from .layout import LibraryError, LibraryLayout
from .writer_lock import WriterLock

BACKUP_EVERY_S = 24 * 3600  # a verified copy of the catalog, at most this often
QUICK_CHECK_MAX_BYTES = 64 * 1024 * 1024  # `status` checks a catalog this small every time
REPAIR_KEY = "last_repair"  # catalog meta: what the last repair of the index did

log = logging.getLogger(__name__)
T = TypeVar("T")


def check_catalog(catalog: Catalog, layout: LibraryLayout, full: bool = False, skip: bool = False) -> CatalogHealth:
    """SQLite's quick check of the catalog — always when `full`, never when `skip` (a window
    refreshing its counts every few seconds), else only where it is cheap."""
    backup = _stamp(layout.backup) if layout.backup.is_file() else None
    try:
        size = catalog.path.stat().st_size
    except OSError:
        size = 0
    if skip and not full:
        return CatalogHealth(False, True, "not checked", backup)
    if not full and size > QUICK_CHECK_MAX_BYTES:
        return CatalogHealth(False, True, "not checked (large): `photosearch status --check` checks it", backup)
    verdict = catalog.check_integrity()
    if verdict == "ok":
        return CatalogHealth(True, True, "checked", backup)
    note = verdict if "photosearch repair" in verdict else damage_message(catalog.path, verdict)
    return CatalogHealth(True, False, note, backup)


def refuse_an_emptied_catalog(layout: LibraryLayout) -> None:
    """An empty catalog in a library that has held photos (a backup, index snapshots or
    thumbnails) is damaged, not new: raises CatalogDamaged before anything opens it for writing,
    so that nothing (not even `status`) writes a fresh schema over it and the next backup does
    not replace the good one with an empty library."""
    signs = _emptied(layout)
    if not signs:
        return  # a sound catalog, or a new library
    cure = (
        "`photosearch repair` restores it from its backup"
        if layout.backup.is_file()
        else "`photosearch repair` starts a new catalog (there is no backup)"
    )
    state = "missing" if not layout.catalog.exists() else "empty"
    raise CatalogDamaged(
        f"catalog {layout.catalog} is {state}, but this library has {', '.join(signs)}: it is damaged, not new; {cure}"
    )


def _emptied(layout: LibraryLayout) -> list[str]:
    """The signs that this library held photos, when its catalog holds no schema (else none)."""
    return layout.signs_of_use() if holds_no_schema(layout.catalog) else []


def back_up_when_due(catalog: Catalog, layout: LibraryLayout, every_s: float = BACKUP_EVERY_S) -> bool:
    """A verified copy of the catalog when the last one is older than `every_s` (the caller is
    the writer); a catalog that fails its check keeps the previous copy, and so does a catalog
    without a single photo when the copy holds some (an emptied library is never the backup)."""
    try:
        if time.time() - layout.backup.stat().st_mtime < every_s:
            return False
    except OSError:
        pass  # no backup yet
    if layout.backup.is_file() and not _photo_count(catalog) and _read(layout.backup, _photo_count, 0):
        log.warning("the catalog holds no photos and its backup does: the backup is kept")
        return False
    made = catalog.back_up(layout.backup)
    if not made:
        log.warning("the catalog failed its check: the previous backup is kept")
    return made


def record_index_repair(catalog: Catalog, damaged: int) -> None:
    """Remember, for `status`, that damaged stored vectors were dropped and queued again."""
    when = time.strftime("%Y-%m-%d %H:%M")
    catalog.set_meta(REPAIR_KEY, f"{when}: {damaged} damaged vectors dropped, their photos embedded again")


def last_index_repair(catalog: Catalog) -> str | None:
    return catalog.get_meta(REPAIR_KEY)


def repair_library(home: Path | None = None) -> str:
    """Restore a damaged catalog from its verified backup; returns what was done, for the user.

    The damaged file is kept beside it (renamed), never deleted. Without a usable backup a new
    catalog is started with the folders that can still be read from the old one: nothing of the
    photos is lost, only the work of embedding them, which `photosearch index` does again."""
    layout = LibraryLayout.at(home)
    if not layout.catalog.is_file() and not layout.backup.is_file():
        raise LibraryError(f"no catalog at {layout.catalog}: nothing to repair")
    if not _emptied(layout) and _verdict(layout.catalog) == "ok":
        return f"the catalog {layout.catalog} is sound: nothing to repair"
    lock = WriterLock(layout.writer_lock)
    lock.acquire()
    try:
        aside = layout.damaged_catalog()
        kept = f"the damaged one is kept as {aside.name}"
        if layout.catalog.exists():
            os.replace(layout.catalog, aside)
        else:
            kept = "there was no catalog file"
        for sidecar, suffix in zip(layout.catalog_sidecars(), ("-wal", "-shm"), strict=True):
            if sidecar.exists():  # its newest transactions may be in the log: it goes with it
                os.replace(sidecar, f"{aside}{suffix}")
        if layout.backup.is_file() and _verdict(layout.backup) == "ok":
            shutil.copyfile(layout.backup, layout.catalog)
            return (
                f"restored the catalog from its backup of {_stamp(layout.backup)} ({kept}); "
                "`photosearch index` catches up with what changed since"
            )
        folders: list[str] = _read(aside, lambda old: [f.path for f in old.folders()], [])
        fresh = Catalog(layout.catalog)
        for path in folders:
            fresh.add_folder(path)
        fresh.close()
        return (
            f"no usable backup: started a new catalog with the {len(folders)} folders that could be read "
            f"({kept}); `photosearch index` embeds their photos again"
        )
    finally:
        lock.release()


def _stamp(path: Path) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))


def _read(path: Path, read: Callable[[Catalog], T], otherwise: T) -> T:
    """`read` applied to the catalog file at `path`, opened without writing; `otherwise` when
    it cannot be opened or read."""
    try:
        catalog = Catalog(path, read_only=True)
    except CatalogError:
        return otherwise
    try:
        return read(catalog)
    except CatalogError:
        return otherwise
    finally:
        catalog.close()


def _verdict(path: Path) -> str:
    """'ok', or why the catalog file at `path` is not sound (the reason it cannot be opened, too)."""
    try:
        catalog = Catalog(path, read_only=True)
    except CatalogError as exc:
        return str(exc)
    try:
        return catalog.check_integrity()
    finally:
        catalog.close()


def _photo_count(catalog: Catalog) -> int:
    return sum(catalog.counts().values())
