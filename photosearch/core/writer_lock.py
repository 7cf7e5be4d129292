"""One writer per library: a second `photosearch index` (or worker) gets a clear message.

Readers (search, status) never take it: SQLite WAL lets them read while the writer commits,
and they replay the change log into their own in-memory index. Only the writer saves index
snapshots and trims the log, so the two can never race.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from photosearch.errors import UserError


class LibraryBusy(UserError):
    """Another process is writing to this library."""


class WriterLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self) -> None:
        if self._handle is not None:
            return
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            _lock(handle)
        except OSError:
            handle.close()
            raise LibraryBusy(f"another photosearch process is indexing {self.path.parent}; try again when it is done") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing drops the lock
            self._handle = None


def _lock(handle: IO[str]) -> None:
    try:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # Windows
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
