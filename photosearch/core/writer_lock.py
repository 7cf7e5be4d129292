"""One writer per library: a second `photosearch index` (or worker) gets a clear message.

Readers (search, status) never take it: SQLite WAL lets them read while the writer commits,
and they replay the change log into their own in-memory index. Only the writer saves index
snapshots and trims the log, so the two can never race.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
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


@contextlib.contextmanager
def waiting_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path`, waiting while another process holds it (two processes
    making the same model export must not write over each other)."""
    with open(path, "a+", encoding="utf-8") as handle:
        _lock(handle, wait=True)
        yield


def _lock(handle: IO[str], wait: bool = False) -> None:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        # LK_LOCK retries for about 10 s, then raises: a waiting caller retries until it holds it
        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                if not wait:
                    raise
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
