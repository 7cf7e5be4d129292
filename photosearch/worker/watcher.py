"""Folder watching: filesystem events become debounced, coalesced batches of paths to re-sync.

Events are hints, never the truth: the worker re-syncs the paths they name against the disk, so
a missed, doubled or reordered event costs at most a later reconciliation scan, never a wrong
catalog. A camera import of 2,000 files arrives as a few batches: a batch is released when no
event came for `quiet_s`, or at the latest `max_wait_s` after its first event. Watch failures
(the inotify watch limit, a queue overflow, an observer thread that died) are reported so the
worker can fall back to scanning.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

log = logging.getLogger(__name__)

IGNORED_EVENTS = frozenset({"opened", "closed_no_write"})


class ChangeCollector:
    """A thread-safe set of dirty paths with a debounce clock."""

    def __init__(self, quiet_s: float = 0.4, max_wait_s: float = 3.0) -> None:
        self.quiet_s = quiet_s
        self.max_wait_s = max_wait_s
        self._paths: dict[str, float] = {}  # path → earliest time it may be taken
        self._first = 0.0
        self._last = 0.0
        self._events = 0
        self._cond = threading.Condition()

    def add(self, paths: Iterable[str], not_before: float | None = None) -> None:
        now = time.monotonic()
        with self._cond:
            if not self._paths:
                self._first = now
            self._last = now
            for path in paths:
                self._events += 1
                self._paths[path] = max(self._paths.get(path, 0.0), not_before or 0.0)
            self._cond.notify_all()

    def _ready_at(self) -> float | None:
        if not self._paths:
            return None
        debounced = min(self._last + self.quiet_s, self._first + self.max_wait_s)
        return max(debounced, min(self._paths.values()))

    def take(self) -> set[str]:
        """The paths whose batch is due now (possibly none)."""
        now = time.monotonic()
        with self._cond:
            ready_at = self._ready_at()
            if ready_at is None or ready_at > now:
                return set()
            due = {p for p, t in self._paths.items() if t <= now}
            for path in due:
                del self._paths[path]
            self._first = now
            return due

    def wait(self, timeout: float) -> None:
        """Sleep until a batch may be due, or `timeout` passes, or paths arrive."""
        with self._cond:
            ready_at = self._ready_at()
            delay = timeout if ready_at is None else max(0.0, min(timeout, ready_at - time.monotonic()))
            if delay > 0:
                self._cond.wait(delay)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._paths)

    @property
    def events(self) -> int:
        return self._events


class _Handler(FileSystemEventHandler):
    def __init__(self, collector: ChangeCollector) -> None:
        self.collector = collector

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in IGNORED_EVENTS or (event.event_type == "modified" and event.is_directory):
            return  # a folder's own mtime changing: its entries' events say what changed
        paths = [os.fsdecode(event.src_path)]
        if event.dest_path:
            paths.append(os.fsdecode(event.dest_path))
        self.collector.add(paths)


class _OverflowListener(logging.Handler):
    """watchdog only logs an inotify queue overflow (events were lost): turn that into a callback."""

    def __init__(self, callback: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self.callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.callback("the filesystem event queue overflowed")


class FolderWatcher:
    """One watchdog observer for all of a library's folders."""

    def __init__(self, collector: ChangeCollector, on_problem: Callable[[str, str], None]) -> None:
        """`on_problem(folder or "", message)` is called when events may have been lost."""
        self.collector = collector
        self.on_problem = on_problem
        self._observer: BaseObserver = Observer()
        self._observer.daemon = True
        self._watches: dict[str, ObservedWatch] = {}
        self._lock = threading.Lock()
        self._overflow = _OverflowListener(lambda message: on_problem("", message))
        logging.getLogger("watchdog.observers").addHandler(self._overflow)

    def start(self) -> None:
        self._observer.start()

    def stop(self) -> None:
        logging.getLogger("watchdog.observers").removeHandler(self._overflow)
        self._observer.stop()
        self._observer.join(timeout=5)

    def watch(self, folder: str) -> bool:
        """Start watching `folder` (recursively); False (and a problem reported) if that failed."""
        with self._lock:
            if folder in self._watches:
                return True
            try:
                self._watches[folder] = self._observer.schedule(_Handler(self.collector), folder, recursive=True)
            except OSError as exc:  # ENOSPC: the inotify watch limit; ENOENT: gone meanwhile
                self.on_problem(folder, f"cannot watch {folder}: {exc.strerror or exc}; it will be re-scanned periodically")
                return False
            return True

    def unwatch(self, folder: str) -> None:
        with self._lock:
            watch = self._watches.pop(folder, None)
            if watch is not None:
                try:
                    self._observer.unschedule(watch)
                except (KeyError, OSError):
                    pass  # its emitter already ended (the folder was deleted)

    def watched(self) -> set[str]:
        with self._lock:
            return set(self._watches)

    def healthy(self) -> bool:
        """False when the observer thread died (events are no longer arriving)."""
        return self._observer.is_alive()

    def restart(self) -> None:
        """A fresh observer for the same folders (after the old one died)."""
        with self._lock:
            folders = list(self._watches)
            self._watches.clear()
            try:
                self._observer.stop()
            except RuntimeError:
                pass
            self._observer = Observer()
            self._observer.daemon = True
            self._observer.start()
        for folder in folders:
            self.watch(folder)
