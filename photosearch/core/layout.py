"""Where a library keeps its files: one folder, and the name of each thing inside it.

Its own module because both the library and its upkeep (check, backup, repair) need these
names, and neither should import the other for them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from photosearch.errors import UserError


class LibraryError(UserError):
    """A problem with the library itself (location, permissions, folders)."""


class LibraryReadOnly(LibraryError):
    """The library cannot be written here (a read-only mount or folder, a full disk): reading
    and searching still work."""


class LibraryMissing(LibraryError):
    """The library's folder or catalog is not there (unplugged, moved, deleted): nothing is
    made in its place unless the user asks for a new library."""


def default_library_home() -> Path:
    """`PHOTOSEARCH_HOME`, else the user data dir (per platform)."""
    override = os.environ.get("PHOTOSEARCH_HOME")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("photosearch"))


def is_library_folder(path: str) -> bool:
    """Whether `path` is a photosearch library (this one or another): its files, thumbnails
    included, are never photos to index. Besides its catalog, a library folder holds its writer
    lock, index or thumbnails once it has been opened. (os.path's checks: a folder that cannot be
    read is not a library, and the scan that asks goes on to report it unreadable.)"""
    layout = LibraryLayout(Path(path))
    marks = (layout.writer_lock, layout.index, layout.thumbnails)
    return os.path.isfile(layout.catalog) and any(os.path.exists(mark) for mark in marks)


@dataclass(frozen=True)
class LibraryLayout:
    """The paths of one library's files, all below `home`."""

    home: Path

    @classmethod
    def at(cls, home: Path | None) -> LibraryLayout:
        """The layout of the library at `home` (the default library when None), as an absolute path."""
        return cls((home or default_library_home()).expanduser().resolve())

    @property
    def catalog(self) -> Path:
        """The SQLite catalog: the library's single source of truth."""
        return self.home / "catalog.sqlite3"

    @property
    def backup(self) -> Path:
        """A verified copy of the catalog, refreshed daily by the writer."""
        return self.home / "catalog.backup.sqlite3"

    @property
    def index(self) -> Path:
        """The vector index snapshots, one per model (derived from the catalog)."""
        return self.home / "index"

    @property
    def thumbnails(self) -> Path:
        return self.home / "thumbnails"

    @property
    def decoding(self) -> Path:
        """Marks of RAW and video decodes in progress (core/decode_guard.py)."""
        return self.home / "decoding"

    @property
    def writer_lock(self) -> Path:
        return self.home / "writer.lock"

    def signs_of_use(self) -> list[str]:
        """What shows this library has held photos, besides its catalog: a backup, index
        snapshots, thumbnails (for a message, in the user's words)."""
        signs = ["a backup"] if self.backup.is_file() else []
        for folder, words in ((self.index, "index snapshots"), (self.thumbnails, "thumbnails")):
            try:
                if any(folder.iterdir()):
                    signs.append(words)
            except OSError:
                pass
        return signs

    @property
    def previous_backup(self) -> Path:
        """Where a backup is kept aside when the catalog has shrunk far below it."""
        return self.home / "catalog.backup-previous.sqlite3"

    def catalog_sidecars(self) -> tuple[Path, Path]:
        """SQLite's write-ahead log and shared-memory files beside the catalog."""
        return Path(f"{self.catalog}-wal"), Path(f"{self.catalog}-shm")

    def damaged_catalog(self) -> Path:
        """Where a damaged catalog is kept aside (never deleted) when it is replaced."""
        return self.home / f"catalog.damaged-{time.strftime('%Y%m%d-%H%M%S')}.sqlite3"
