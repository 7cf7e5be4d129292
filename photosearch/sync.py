"""Incremental sync: walk the library's folders and diff them against the catalog.

A file is unchanged when its size and mtime match the catalog: a second run over an unchanged
folder reads no pixels. New files become pending; changed ones pending again; vanished ones are
removed; a new path whose content fingerprint matches a vanished photo is a move or rename and
keeps its embedding without decoding again. Hidden and system folders are skipped, symlinked
folders are followed once (never in a loop), and a folder root that is missing (an unmounted
drive) is marked offline with its photos kept.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import Catalog, Folder, PhotoRow
from .images import PHOTO_SUFFIXES

SKIPPED_DIR_NAMES = frozenset(
    {"@eaDir", "$RECYCLE.BIN", "System Volume Information", "__MACOSX", "lost+found", "#recycle", "#snapshot", "node_modules"}
)
FINGERPRINT_CHUNK = 64 * 1024


def fingerprint(path: str | Path, size: int | None = None) -> str:
    """Cheap content identity: size + first and last 64 KiB (enough to recognise a moved photo)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        if size is None:
            size = os.fstat(handle.fileno()).st_size
        digest.update(size.to_bytes(8, "little"))
        digest.update(handle.read(FINGERPRINT_CHUNK))
        if size > 2 * FINGERPRINT_CHUNK:
            handle.seek(size - FINGERPRINT_CHUNK)
            digest.update(handle.read(FINGERPRINT_CHUNK))
    return digest.hexdigest()


def walk_photos(root: Path, skip_roots: frozenset[str] = frozenset()) -> Iterator[tuple[str, int, int]]:
    """(path, size, mtime_ns) of every photo under `root`; unreadable folders are passed over."""
    seen_dirs: set[tuple[int, int]] = set()
    stack = [str(root)]
    while stack:
        directory = stack.pop()
        try:
            info = os.stat(directory)
        except OSError:
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen_dirs:  # a symlink loop, or the same folder reached twice
            continue
        seen_dirs.add(key)
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    if name not in SKIPPED_DIR_NAMES and entry.path not in skip_roots:
                        stack.append(entry.path)
                    continue
                if os.path.splitext(name)[1].lower() not in PHOTO_SUFFIXES or not entry.is_file(follow_symlinks=True):
                    continue
                stat = entry.stat(follow_symlinks=True)
            except OSError:
                continue
            yield entry.path, stat.st_size, stat.st_mtime_ns


@dataclass
class SyncReport:
    new: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    offline: list[str] = field(default_factory=list)

    @property
    def touched(self) -> int:
        return self.new + self.changed + self.moved + self.removed


def sync_library(catalog: Catalog, folders: list[Folder] | None = None) -> SyncReport:
    """Bring the catalog's photo rows in line with the folders on disk (no decoding)."""
    folders = catalog.folders() if folders is None else folders
    roots = frozenset(f.path for f in catalog.folders())
    report = SyncReport()
    new: list[tuple[int, str, int, int]] = []
    changed: list[tuple[int, int, int]] = []
    gone: list[PhotoRow] = []
    for folder in folders:
        root = Path(folder.path)
        if not root.is_dir():
            catalog.set_folder_state(folder.id, "offline")
            report.offline.append(folder.path)
            continue
        known = catalog.photos_in_folder(folder.id)
        for path, size, mtime in walk_photos(root, roots - {folder.path}):
            row = known.pop(path, None)
            if row is None:
                new.append((folder.id, path, size, mtime))
            elif row.size != size or row.mtime_ns != mtime:
                changed.append((row.id, size, mtime))
            else:
                report.unchanged += 1
        gone.extend(known.values())

    moved, new = _match_moves(new, gone)
    moved_ids = {m[0] for m in moved}
    gone_ids = [row.id for row in gone if row.id not in moved_ids]
    if new or changed or moved or gone_ids:
        catalog.apply_scan(new, changed, moved, gone_ids)
    for folder in folders:
        if folder.path not in report.offline:
            catalog.set_folder_state(folder.id, "online")
    report.new, report.changed, report.moved, report.removed = len(new), len(changed), len(moved), len(gone_ids)
    return report


def _match_moves(
    new: list[tuple[int, str, int, int]], gone: list[PhotoRow]
) -> tuple[list[tuple[int, str, int, int, int]], list[tuple[int, str, int, int]]]:
    """Pair new files with vanished photos of the same size and fingerprint (read only those)."""
    by_size: dict[int, list[PhotoRow]] = {}
    for row in gone:
        if row.fingerprint and row.status == "indexed":
            by_size.setdefault(row.size, []).append(row)
    if not by_size:
        return [], new
    moved: list[tuple[int, str, int, int, int]] = []
    still_new: list[tuple[int, str, int, int]] = []
    for folder_id, path, size, mtime in new:
        candidates = by_size.get(size)
        match = None
        if candidates:
            try:
                print_ = fingerprint(path, size)
            except OSError:
                print_ = None
            match = next((row for row in candidates if row.fingerprint == print_), None)
        if match is None:
            still_new.append((folder_id, path, size, mtime))
            continue
        candidates.remove(match)  # type: ignore[union-attr]
        moved.append((match.id, path, size, mtime, folder_id))
    return moved, still_new
