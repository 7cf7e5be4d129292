"""Incremental sync: walk the library's folders and diff them against the catalog.

A file is unchanged when its size and mtime match the catalog: a second run over an unchanged
folder reads no pixels. New files become pending; changed ones pending again; vanished ones are
removed; a new path whose content fingerprint matches a vanished photo is a move or rename and
keeps its embedding without decoding again. Hidden and system folders are skipped, symlinked
folders are followed once (never in a loop: a link to a folder above itself, `/` included, is
one), the operating system's own folders (/proc, /sys…) are never entered, and a folder root that is missing (an unmounted
drive) is marked offline with its photos kept. A photosearch library found in a folder (this
one kept among its photos, or another) is passed over: its thumbnails are JPEGs too.
"""

from __future__ import annotations

import errno
import itertools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from photosearch.records import MEDIA_SUFFIXES, FolderState, SyncReport

from .catalog import Catalog, ChangedPhoto, Folder, MovedPhoto, NewPhoto, PhotoRow
from .fingerprint import fingerprint
from .layout import is_library_folder

SKIPPED_DIR_NAMES = frozenset(
    {"@eaDir", "$RECYCLE.BIN", "System Volume Information", "__MACOSX", "lost+found", "#recycle", "#snapshot", "node_modules"}
)


# The kernel's and the system's live folders: endless, or files that block when read.
SYSTEM_FOLDERS = frozenset({"/proc", "/sys", "/dev", "/run"} if os.name == "posix" else ())


def _no_way_in(link: str, directory: str) -> bool:
    """Whether a symbolic link found in `directory` leads where a scan must not go: to a folder
    above it (a loop that reaches everything, a link to `/` among them) or into the system's."""
    target = os.path.realpath(link)
    here = os.path.realpath(directory)
    return _inside_any(here, frozenset({target})) or _inside_any(target, SYSTEM_FOLDERS)


class FoundFile(NamedTuple):
    """A photo file seen on disk by a scan."""

    path: str
    size: int
    mtime_ns: int


def walk_photos(
    root: Path,
    roots: frozenset[str] = frozenset(),
    unreadable: list[str] | None = None,
    excluded: frozenset[str] = frozenset(),
) -> Iterator[FoundFile]:
    """(path, size, mtime_ns) of every photo under `root`.

    `roots` are all the library's folders: one nested inside `root` is left to its own scan, and
    a symbolic link whose target lies inside any of them is not followed (the target is indexed
    where it really is, so one photo never has two entries). Folders that cannot be read are
    passed over and added to `unreadable`, so their photos are not taken for deleted; folders
    and photos the user `excluded` are passed over, so they leave the library. A photosearch
    library folder is passed over, as is everything in it."""
    if is_library_folder(str(root)) or _inside_any(os.path.realpath(root), SYSTEM_FOLDERS):
        return
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
            if unreadable is not None:
                unreadable.append(directory)
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                if entry.is_symlink() and (_inside_any(os.path.realpath(entry.path), roots) or _no_way_in(entry.path, directory)):
                    continue
                if entry.is_dir(follow_symlinks=True):
                    if (
                        name not in SKIPPED_DIR_NAMES
                        and entry.path not in roots
                        and entry.path not in excluded
                        and not is_library_folder(entry.path)
                    ):
                        stack.append(entry.path)
                    continue
                if (
                    os.path.splitext(name)[1].lower() not in MEDIA_SUFFIXES
                    or entry.path in excluded
                    or not entry.is_file(follow_symlinks=True)
                ):
                    continue
                stat = entry.stat(follow_symlinks=True)
            except OSError as exc:
                if exc.errno == errno.ENAMETOOLONG and unreadable is not None:
                    unreadable.append(entry.path)  # said, never silently passed over
                continue
            yield FoundFile(entry.path, stat.st_size, stat.st_mtime_ns)


def _inside_any(path: str, roots: frozenset[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def root_state(root: str) -> str:
    """'ok', 'missing', 'unreadable' or 'empty' (nothing at all in it: an unmounted drive's mount point)."""
    try:
        with os.scandir(root) as entries:
            return "ok" if next(entries, None) is not None else "empty"
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except OSError:
        return "unreadable" if os.path.isdir(root) else "missing"


def folder_is_online(catalog: Catalog, folder: Folder) -> bool:
    """Whether a library folder can be scanned without losing its photos.

    A missing root is offline. A root that is suddenly empty or unreadable while the catalog
    holds photos from it is offline too — an unplugged drive leaves its mount point behind, a
    permission change hides everything — so its photos are kept until it is back; an empty or
    unreadable folder that never had photos is simply empty."""
    state = root_state(folder.path)
    if state == "ok":
        return True
    return state != "missing" and not catalog.has_photos(folder.id)


def sync_library(catalog: Catalog, folders: list[Folder] | None = None) -> SyncReport:
    """Bring the catalog's photo rows in line with the folders on disk (no decoding). Photos
    skipped for a cause outside the file are queued again."""
    folders = catalog.folders() if folders is None else folders
    roots = frozenset(f.path for f in catalog.folders())
    excluded = catalog.excluded()
    catalog.retry_outside_skips()  # a permission fixed, a drive that read badly: try those again
    diff = _Diff()
    for folder in folders:
        if not folder_is_online(catalog, folder):
            catalog.set_folder_state(folder.id, FolderState.OFFLINE)
            diff.offline.append(folder.path)
            continue
        unreadable: list[str] = []
        found = list(walk_photos(Path(folder.path), roots, unreadable, excluded))
        diff.compare(folder.id, diff.keep_unreadable(catalog.photos_in_folder(folder.id), unreadable), found)
    report = diff.apply(catalog)
    for folder in folders:
        if folder.path not in report.offline:
            catalog.set_folder_state(folder.id, FolderState.ONLINE)
    return report


def sync_paths(catalog: Catalog, paths: Iterable[str], settle_s: float = 0.0) -> tuple[SyncReport, set[str]]:
    """Sync only what lies at or below `paths` (the watcher's hints); no decoding.

    Each path may be a file or a folder, present or gone. A file modified less than `settle_s`
    ago is probably still being written: it is left alone and returned, to be looked at again
    later (with any vanished photos of this pass, which may have moved to it). A library
    folder whose root is gone is marked offline (its photos are kept).
    Returns the report and the deferred paths.
    """
    folders = [f for f in catalog.folders() if f.state is FolderState.ONLINE]
    roots = frozenset(f.path for f in catalog.folders())
    excluded = catalog.excluded()
    diff = _Diff()
    deferred: set[str] = set()
    too_new = time.time_ns() - int(settle_s * 1e9)
    for scope in _outermost(paths):
        folder = _owning_folder(scope, folders)
        if folder is None:
            continue
        if scope == folder.path and not folder_is_online(catalog, folder):
            catalog.set_folder_state(folder.id, FolderState.OFFLINE)
            diff.offline.append(folder.path)
            continue
        unreadable: list[str] = []
        found = list(_photos_at(scope, folder.path, roots, unreadable, excluded))
        known = diff.keep_unreadable(catalog.photos_under(folder.id, scope), unreadable)
        settled = []
        for entry in found:
            if entry.mtime_ns > too_new:
                deferred.add(entry.path)
                known.pop(entry.path, None)
            else:
                settled.append(entry)
        diff.compare(folder.id, known, settled)
    if deferred and diff.gone:
        # a deferred file may be where a vanished photo moved to: decide both together, later
        deferred.update(row.path for row in diff.gone)
        diff.gone = []
    return diff.apply(catalog, vanished_moves=True), deferred


def _outermost(paths: Iterable[str]) -> list[str]:
    """The paths with every path that lies below another one dropped."""
    out: list[str] = []
    for path in sorted({os.path.normpath(p) for p in paths}):
        if out and (path == out[-1] or path.startswith(out[-1].rstrip(os.sep) + os.sep)):
            continue
        out.append(path)
    return out


def _owning_folder(path: str, folders: list[Folder]) -> Folder | None:
    best: Folder | None = None
    for folder in folders:
        if (path == folder.path or path.startswith(folder.path.rstrip(os.sep) + os.sep)) and (
            best is None or len(folder.path) > len(best.path)
        ):
            best = folder
    return best


def _photos_at(
    scope: str, root: str, roots: frozenset[str], unreadable: list[str], excluded: frozenset[str] = frozenset()
) -> Iterator[FoundFile]:
    """Photos at `scope` (a file or a folder inside library folder `root`), by the walk's rules."""
    relative = os.path.relpath(scope, root)
    parts = [] if relative == "." else relative.split(os.sep)
    if any(part.startswith(".") or part in SKIPPED_DIR_NAMES for part in parts) or _inside_any(scope, excluded):
        return
    if _inside_a_library(root, parts):
        return
    if scope != root and (_linked_into_the_library(scope, root, roots) or _through_a_closed_link(root, parts)):
        return
    if os.path.isdir(scope):
        if scope == root or scope not in roots:
            yield from walk_photos(Path(scope), roots, unreadable, excluded)
        return
    if os.path.splitext(scope)[1].lower() not in MEDIA_SUFFIXES:
        return
    try:
        stat = os.stat(scope)
    except OSError:
        return
    if os.path.isfile(scope):
        yield FoundFile(scope, stat.st_size, stat.st_mtime_ns)


def _inside_a_library(root: str, parts: list[str]) -> bool:
    """Whether `root`/`parts` is a photosearch library folder or lies in one (checked from `root` down)."""
    return any(is_library_folder(folder) for folder in itertools.accumulate(parts, os.path.join, initial=root))


def _through_a_closed_link(root: str, parts: list[str]) -> bool:
    """Whether the way from `root` down `parts` passes a link the walk would not follow."""
    folders = list(itertools.accumulate(parts, os.path.join, initial=root))
    return any(os.path.islink(here) and _no_way_in(here, above) for above, here in itertools.pairwise(folders))


def _linked_into_the_library(scope: str, root: str, roots: frozenset[str]) -> bool:
    """Whether `scope` is reached through a symbolic link (below `root`) into a library folder."""
    real = os.path.realpath(scope)
    return real != os.path.join(os.path.realpath(root), os.path.relpath(scope, root)) and _inside_any(real, roots)


class _Diff:
    """Compares what is on disk with the catalog rows and records the difference in one commit."""

    def __init__(self) -> None:
        self.new: list[NewPhoto] = []
        self.changed: list[ChangedPhoto] = []
        self.gone: list[PhotoRow] = []
        self.unchanged = 0
        self.offline: list[str] = []
        self.unreadable: list[str] = []

    def keep_unreadable(self, known: dict[str, PhotoRow], unreadable: list[str]) -> dict[str, PhotoRow]:
        """The catalog rows a scan can judge: those below a folder it could not read are kept."""
        if not unreadable:
            return known
        self.unreadable.extend(unreadable)
        blocked = frozenset(unreadable)
        return {path: row for path, row in known.items() if not _inside_any(path, blocked)}

    def compare(self, folder_id: int, known: dict[str, PhotoRow], found: Iterable[FoundFile]) -> None:
        """`known`: the catalog's rows for the region that `found` covers (consumed)."""
        for path, size, mtime in found:
            row = known.pop(path, None)
            if row is None:
                self.new.append(NewPhoto(folder_id, path, size, mtime))
            elif row.size != size or row.mtime_ns != mtime:
                self.changed.append(ChangedPhoto(row.id, size, mtime))
            else:
                self.unchanged += 1
        self.gone.extend(known.values())

    def apply(self, catalog: Catalog, vanished_moves: bool = False) -> SyncReport:
        """`vanished_moves`: also match new files with indexed photos whose file is gone but not
        yet seen gone (the watcher may report a move's two halves in separate batches)."""
        moved, new = _match_moves(self.new, self.gone)
        if vanished_moves and new:
            more, new = _match_vanished(catalog, new, {m.id for m in moved})
            moved += more
        moved_ids = {m.id for m in moved}
        gone_ids = [row.id for row in self.gone if row.id not in moved_ids]
        if new or self.changed or moved or gone_ids:
            catalog.apply_scan(new, self.changed, moved, gone_ids)
        return SyncReport(
            len(new), len(self.changed), len(moved), len(gone_ids), self.unchanged, tuple(self.offline), tuple(self.unreadable)
        )


def _match_vanished(catalog: Catalog, new: list[NewPhoto], taken: set[int]) -> tuple[list[MovedPhoto], list[NewPhoto]]:
    """Pair new files with indexed photos of the same size and fingerprint whose file is gone."""
    return _pair_by_fingerprint(
        new, lambda size: [row for row in catalog.indexed_with_size(size) if row.id not in taken and not os.path.exists(row.path)]
    )


def _match_moves(new: list[NewPhoto], gone: list[PhotoRow]) -> tuple[list[MovedPhoto], list[NewPhoto]]:
    """Pair new files with vanished photos of the same size and fingerprint (read only those)."""
    by_size: dict[int, list[PhotoRow]] = {}
    for row in gone:
        if row.fingerprint and row.status == "indexed":
            by_size.setdefault(row.size, []).append(row)
    if not by_size:
        return [], new
    return _pair_by_fingerprint(new, lambda size: by_size.get(size, []))


def _pair_by_fingerprint(
    new: list[NewPhoto], candidates_for: Callable[[int], list[PhotoRow]]
) -> tuple[list[MovedPhoto], list[NewPhoto]]:
    """(moved, still new): each new file paired with at most one candidate, each candidate once."""
    used: set[int] = set()
    moved: list[MovedPhoto] = []
    still_new: list[NewPhoto] = []
    for photo in new:
        candidates = [row for row in candidates_for(photo.size) if row.id not in used]
        match = None
        if candidates:
            try:
                print_ = fingerprint(photo.path, photo.size)
            except OSError:
                print_ = None
            match = next((row for row in candidates if row.fingerprint == print_), None)
        if match is None:
            still_new.append(photo)
            continue
        used.add(match.id)
        moved.append(MovedPhoto(match.id, photo.path, photo.size, photo.mtime_ns, photo.folder_id))
    return moved, still_new
