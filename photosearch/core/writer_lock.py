"""One writer per library: a second `photosearch index` (or worker) gets a clear message.

Readers (search, status) never take it: SQLite WAL lets them read while the writer commits,
and they replay the change log into their own in-memory index. Only the writer saves index
snapshots and trims the log, so the two can never race.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
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


class LockWaitTooLong(UserError):
    """Another process held a lock for longer than anything of ours takes with it."""


WAIT_S = 600.0  # far beyond a model export (the longest thing done under a waiting lock)


@contextlib.contextmanager
def waiting_lock(path: Path, timeout_s: float = WAIT_S) -> Iterator[None]:
    """Hold an exclusive lock on `path`, waiting while another process holds it (two processes
    making the same model export must not write over each other), for at most `timeout_s`:
    a process stuck while holding it must not hang this one for ever. The same polling on
    every system (Windows' blocking LK_LOCK gives up after ten tries of its own)."""
    with open(path, "a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                _lock(handle)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise LockWaitTooLong(
                        f"another photosearch process has held {path} for over {timeout_s:g} s "
                        "(is one stuck?): stop it, or try again later"
                    ) from None
                time.sleep(0.1)
        yield


def _lock(handle: IO[str]) -> None:
    """Lock the file's first byte now, or raise OSError when another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
