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
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from photosearch.records import CatalogHealth

from .catalog import Catalog, CatalogDamaged, CatalogError, damage_message, holds_no_schema, schema_version
from .catalog_schema import SCHEMA_VERSION
from .layout import LibraryError, LibraryLayout
from .salvage import MODEL_KEY, Salvage, salvage
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
    if backup is not None:
        backup = _backup_state(layout.backup, backup, full)
    if not full and size > QUICK_CHECK_MAX_BYTES:
        return CatalogHealth(False, True, "not checked (large): `photosearch status --check` checks it", backup)
    verdict = catalog.check_integrity()
    if verdict == "ok":
        return CatalogHealth(True, True, "checked", backup)
    note = verdict if "photosearch repair" in verdict else damage_message(catalog.path, verdict)
    return CatalogHealth(True, False, note, backup)


def _backup_state(path: Path, stamp: str, full: bool) -> str:
    """The backup's date, or its date and why it cannot be used: always read far enough to know
    it is a catalog, checked page by page where that is cheap (or asked for)."""
    try:
        version = schema_version(path, still=True)
    except CatalogError as exc:
        return f"{stamp}, which is unusable ({exc})"
    if not 0 < version <= SCHEMA_VERSION:
        return f"{stamp}, which is unusable (it holds no catalog this version can read)"
    if full or path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
        verdict = _verdict(path, read_any_version=True, still=True)
        if verdict != "ok":
            return f"{stamp}, which is unusable ({verdict})"
    return stamp


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
    the writer). A catalog that fails its check keeps the previous copy and raises
    CatalogDamaged (the caller says so, once); a catalog without a single photo keeps a copy
    that holds some (an emptied library is never the backup)."""
    try:
        if time.time() - layout.backup.stat().st_mtime < every_s:
            return False
    except OSError:
        pass  # no backup yet
    held = _read(layout.backup, _size_of, (0, 0)) if layout.backup.is_file() else (0, 0)
    now = _size_of(catalog)
    if held[1] and not now[1]:
        log.warning("the catalog holds no photos and its backup does: the backup is kept")
        return False
    if now[0] < held[0] or now[1] < held[1] // 2:  # a library much smaller than its backup
        # maybe by the user's wish (folders removed), maybe not: the larger copy is kept aside
        os.replace(layout.backup, layout.previous_backup)
        log.warning(
            "the catalog holds %d folders and %d photos, its backup %d and %d: the backup is kept as %s",
            *now,
            *held,
            layout.previous_backup.name,
        )
    made = catalog.back_up(layout.backup)
    if not made:
        kept = "the previous backup is kept" if layout.backup.is_file() else "there is no backup"
        cure = "restores it from the backup" if layout.backup.is_file() else "starts a new catalog from what can still be read"
        raise CatalogDamaged(
            f"the catalog {catalog.path} failed its check, so it is not backed up ({kept}): `photosearch repair` {cure}"
        )
    return made


def record_index_repair(catalog: Catalog, damaged: int) -> None:
    """Remember, for `status`, that damaged stored vectors were dropped and queued again."""
    when = time.strftime("%Y-%m-%d %H:%M")
    catalog.set_meta(REPAIR_KEY, f"{when}: {damaged} damaged vectors dropped, their photos embedded again")


def last_index_repair(catalog: Catalog) -> str | None:
    return catalog.get_meta(REPAIR_KEY)


def repair_library(home: Path | None = None) -> str:
    """Replace a damaged catalog by its verified backup, merged with what can still be read
    from the damaged file; returns what was done, kept and lost, for the user.

    Only damage is repaired: a catalog that cannot be read (permissions), or that a newer
    photosearch wrote, is left as it is with the reason (LibraryError). The damaged file is kept
    beside it (renamed, with its write-ahead log), never deleted. Without a usable backup a new
    catalog starts from what could be read: nothing of the photos is lost, only the work of
    embedding them, which `photosearch index` does again."""
    layout = LibraryLayout.at(home)
    if not layout.catalog.is_file() and not layout.backup.is_file():
        raise LibraryError(f"no catalog at {layout.catalog}: nothing to repair")
    problem = diagnose(layout)
    if problem.kind == "sound":
        return f"the catalog {layout.catalog} is sound: nothing to repair{problem.reason}"
    if problem.kind != "damaged":
        raise LibraryError(f"the catalog {layout.catalog} is not damaged, and repair changes nothing: {problem.reason}")
    lock = WriterLock(layout.writer_lock)
    lock.acquire()
    try:
        aside = _set_aside(layout)
        kept = f"the damaged one is kept as {aside.name}" if aside else "there was no catalog file"
        found = salvage(aside) if aside else Salvage(None, False, None, None, None)
        backup = next(
            (b for b in (layout.backup, layout.previous_backup) if b.is_file() and _verdict(b, still=True) == "ok"), None
        )
        if backup is not None:
            shutil.copyfile(backup, layout.catalog)
            done = f"restored the catalog from its backup of {_stamp(backup)} ({kept})"
        else:
            done = f"no usable backup: started a new catalog ({kept})"
        merged = _merge(layout.catalog, found)
        return "\n".join([done, *merged, "`photosearch index` catches up with the photos that changed since"])
    finally:
        lock.release()


@dataclass(frozen=True)
class Diagnosis:
    kind: Literal["sound", "damaged", "unreadable", "newer"]
    reason: str  # for the user; for "sound", what else there is to know (or nothing)


def diagnose(layout: LibraryLayout) -> Diagnosis:
    """What is wrong with a library's catalog file, telling damage (which repair mends) from a
    file that merely cannot be opened here (which repair must leave alone)."""
    if holds_no_schema(layout.catalog):
        return Diagnosis("damaged", "it is empty") if layout.signs_of_use() else Diagnosis("sound", " (a new library)")
    try:
        with open(layout.catalog, "rb") as handle:
            handle.read(100)
    except PermissionError:
        return Diagnosis("unreadable", f"no permission to read it ({_owner_and_mode(layout.catalog)}): fix its permissions")
    except OSError as exc:
        return Diagnosis("unreadable", f"it cannot be read ({exc.strerror or exc})")
    try:
        version = schema_version(layout.catalog)
    except CatalogDamaged as exc:
        return Diagnosis("damaged", str(exc))
    except CatalogError as exc:
        return Diagnosis("unreadable", str(exc))
    if version == 0:
        return Diagnosis("damaged", "it holds no schema: its write-ahead log was probably lost")
    if version > SCHEMA_VERSION:
        return Diagnosis(
            "newer",
            f"a newer photosearch wrote it (catalog schema {version}, this version reads up to {SCHEMA_VERSION}): "
            "use that version, or a newer one",
        )
    verdict = _verdict(layout.catalog, read_any_version=True)
    if verdict != "ok":
        return Diagnosis("damaged", verdict)
    if version < SCHEMA_VERSION:
        return Diagnosis("sound", " (an older photosearch wrote it: it is upgraded when the library is next opened)")
    return Diagnosis("sound", "")


def _set_aside(layout: LibraryLayout) -> Path | None:
    """Move the damaged catalog and its write-ahead log (which may hold its newest
    transactions) out of the way, together; None when there was no catalog file."""
    if not layout.catalog.exists():
        return None
    aside = layout.damaged_catalog()
    os.replace(layout.catalog, aside)
    for sidecar, suffix in zip(layout.catalog_sidecars(), ("-wal", "-shm"), strict=True):
        if sidecar.exists():
            os.replace(sidecar, f"{aside}{suffix}")
    return aside


def _merge(path: Path, found: Salvage) -> list[str]:
    """Bring the user's choices read from the damaged file into the new catalog at `path`;
    lines saying what was kept and what was lost."""
    catalog = Catalog(path)
    try:
        lines = []
        restored = {f.path for f in catalog.folders()}
        if found.folders is None:
            lines.append(f"lost: the folders could not be read from the damaged catalog ({len(restored)} kept from the backup)")
        else:
            added = [f for f in found.folders if f not in restored]
            for folder in added:
                catalog.add_folder(folder)
            gone = sorted(restored - set(found.folders)) if found.folders_complete else []
            for folder in gone:  # removed by the user after the backup was made
                catalog.remove_folder(next(f.id for f in catalog.folders() if f.path == folder))
            note = "" if found.folders_complete else " (some of its folder rows were unreadable: the backup's are kept too)"
            lines.append(
                f"kept: {len(found.folders)} folders read from the damaged catalog, "
                f"{len(added)} of them added since the backup, {len(gone)} removed since{note}"
            )
        if found.excluded is None:
            lines.append(f"lost: the excluded folders could not be read ({len(catalog.excluded())} kept from the backup)")
        else:
            catalog.set_excluded(found.excluded)
            lines.append(f"kept: {len(found.excluded)} excluded folders")
        if found.model is None:
            lines.append(f"lost: the model choice could not be read ({catalog.get_meta(MODEL_KEY) or 'the default'} is used)")
        else:
            catalog.set_meta(MODEL_KEY, found.model)
            lines.append(f"kept: the model choice ({found.model})")
        now = sum(catalog.counts().values())
        if found.photos is not None and found.photos > now:
            lines.append(f"lost: the vectors of {found.photos - now} photos indexed since the backup (index embeds them again)")
        return lines
    finally:
        catalog.close()


def _owner_and_mode(path: Path) -> str:
    info = path.stat()
    return f"owner uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):04o}"


def _stamp(path: Path) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))


def _read(path: Path, read: Callable[[Catalog], T], otherwise: T) -> T:
    """`read` applied to the backup at `path`, opened without writing; `otherwise` when it
    cannot be opened or read."""
    try:
        catalog = Catalog(path, read_only=True, any_version=True, still=True)
    except CatalogError:
        return otherwise
    try:
        return read(catalog)
    except CatalogError:
        return otherwise
    finally:
        catalog.close()


def _verdict(path: Path, read_any_version: bool = False, still: bool = False) -> str:
    """'ok', or why the catalog file at `path` is not sound (the reason it cannot be opened,
    too). `still`: a backup (see `open_read_only`)."""
    try:
        catalog = Catalog(path, read_only=True, any_version=read_any_version, still=still)
    except CatalogError as exc:
        return str(exc)
    try:
        return catalog.check_integrity()
    finally:
        catalog.close()


def _size_of(catalog: Catalog) -> tuple[int, int]:
    """(folders, photos) a catalog holds."""
    return len(catalog.folders()), sum(catalog.counts().values())
