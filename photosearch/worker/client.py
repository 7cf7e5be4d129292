"""The worker's client: starts the worker process, sends commands, delivers its events.

Used by the window, `photosearch watch` and the tests, in the caller's process. It never
imports the core, torch or Qt. A reader thread receives events and hands each to `on_event` (a window
turns them into Qt signals for its own thread) and completes the matching request's Future. If
the worker dies without being asked to, the client reports it (WorkerExited), fails the
requests in flight, starts a new worker and re-sends the pause state; the caller never dies
with it. A worker that cannot run at all (library busy, unusable) exits
with FATAL_EXIT and is not restarted.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photosearch.errors import UserError
from photosearch.records import EVERYWHERE, LibraryStatus, SearchFilter

from . import protocol as p
from .process import run_worker  # the spawn target: the one import of the worker's side
from .protocol import FATAL_EXIT, OFFLINE_EXIT, WRITABLE_EXIT, WorkerSettings

if TYPE_CHECKING:  # either end of a Pipe, on every platform (a PipeConnection on Windows)
    from multiprocessing.connection import _ConnectionBase as Connection

log = logging.getLogger(__name__)

MAX_EARLY_DEATHS = 3


class WorkerError(UserError):
    """A command failed, or the worker is not available; the message is for the user."""


class SearchSuperseded(WorkerError):
    """A newer search came before this one ran: it has no answer (and needs none)."""


class WorkerLost(WorkerError):
    """The worker stopped before it answered (a request that may be repeated is, once a new
    worker is ready)."""


class WorkerClient:
    def __init__(
        self,
        settings: WorkerSettings | None = None,
        on_event: Callable[[p.Event], None] | None = None,
        restart: bool = True,
        restart_delay_s: float = 0.5,
    ) -> None:
        self.settings = settings or WorkerSettings()
        self.on_event = on_event
        self.restart = restart
        self.restart_delay_s = restart_delay_s
        self.restarts = 0
        self.ready = threading.Event()
        self.fatal: str | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, Future[Any]] = {}
        self._lock = threading.RLock()
        self._send_lock = threading.Lock()
        self._paused = False
        self._closing = False
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._reader: threading.Thread | None = None
        self._last_problem = ""
        self.offline = ""  # why the library is offline (the worker could not find it), until it is back
        self.offline_retry_s = 3.0  # how often an offline library is looked for
        self._early_deaths = 0  # deaths before Ready in a row: a worker that cannot start
        self._started_at = 0.0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, timeout: float | None = 120.0) -> WorkerClient:
        """Start the worker; with a timeout, wait until it is ready (raises WorkerError if it can't be)."""
        self._spawn()
        if timeout is not None:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.1):
            if self.fatal:
                raise WorkerError(self.fatal)
            if self.offline:  # a caller that waits (the command line) is told; a window waits on
                raise WorkerError(self.offline)
            if time.monotonic() > deadline:
                raise WorkerError(f"the worker did not start within {timeout:.0f} s")

    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that may have Qt threads
        parent, child = context.Pipe(duplex=True)
        process = context.Process(target=run_worker, args=(child, self.settings), name="photosearch-worker", daemon=True)
        process.start()
        child.close()  # so that the worker's death reads as EOF here
        with self._lock:
            self.ready.clear()
            self._process, self._conn = process, parent
            self._started_at = time.monotonic()
        self._reader = threading.Thread(target=self._read, args=(parent, process), name="worker-reader", daemon=True)
        self._reader.start()
        if self._paused:
            self._send(p.Pause(next(self._ids)))

    def shutdown(self, timeout: float = 60.0) -> None:
        """Ask the worker to finish its batch, save and exit; kill it if it doesn't in time."""
        with self._lock:
            self._closing = True
            process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        try:
            self._send(p.Shutdown(next(self._ids)))
        except WorkerError:
            pass
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join(5)
        conn.close()
        if self._reader is not None:
            self._reader.join(5)

    def __enter__(self) -> WorkerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    def kill(self) -> None:
        """Kill the worker with no chance to clean up (tests: a crash at a random moment); the
        client restarts it. SIGKILL on POSIX, TerminateProcess on Windows."""
        process = self._process
        if process is not None:
            process.kill()

    # -- commands -------------------------------------------------------------------------

    def send(self, command: p.Command) -> tuple[int, Future[Any]]:
        """Send without waiting: returns the request id and a Future of its answer."""
        request_id = next(self._ids)
        future: Future[Any] = Future()
        with self._lock:
            self._pending[request_id] = future
        try:
            self._send(dataclasses.replace(command, request_id=request_id))
        except WorkerError as exc:
            self._finish(request_id, exc)
        return request_id, future

    def request(self, command: p.Command, timeout: float | None = 60.0, repeatable: bool = False) -> Any:
        """Send and wait for the answer: Reply.value, Results, or WorkerError. A `repeatable`
        command (one that does the same done twice) whose worker died before answering is sent
        again to the worker that replaces it."""
        for _ in range(MAX_EARLY_DEATHS):
            generation = self.restarts
            _, future = self.send(command)
            try:
                return future.result(timeout)
            except WorkerLost:
                if not repeatable or not self._replaced(generation, timeout):
                    raise
        raise WorkerLost(self.fatal or "the worker kept stopping before it answered")

    def _replaced(self, generation: int, timeout: float | None) -> bool:
        """Wait until a worker newer than `generation` is ready; False if none will be."""
        deadline = time.monotonic() + (timeout if timeout is not None else 120.0)
        while time.monotonic() < deadline:
            if self.fatal or self._closing or not self.restart:
                return False
            if self.restarts > generation and self.ready.wait(0.1):
                return True
            time.sleep(0.05)
        return False

    def add_folder(self, path: str | Path) -> str:
        return str(self.request(p.AddFolder(path=str(Path(path).expanduser().resolve())), repeatable=True))

    def remove_folder(self, path: str | Path) -> int:
        return int(self.request(p.RemoveFolder(path=str(Path(path).expanduser().resolve()))))

    def remember_pause(self, paused: bool) -> None:
        """Whether every worker this client starts is paused (the command itself is sent apart)."""
        self._paused = paused

    def pause(self) -> None:
        self._paused = True
        self.request(p.Pause())

    def resume(self) -> None:
        self._paused = False
        self.request(p.Resume())

    def search(
        self,
        text: str,
        images: tuple[str, ...] = (),
        k: int = 20,
        cutoff: float | None = None,
        where: SearchFilter = EVERYWHERE,
    ) -> p.Results:
        result: p.Results = self.request(p.Search(text=text, images=images, k=k, cutoff=cutoff, where=where))
        return result

    def similar(self, path: str | Path, k: int = 20, cutoff: float | None = None, where: SearchFilter = EVERYWHERE) -> p.Results:
        result: p.Results = self.request(p.Similar(path=str(path), k=k, cutoff=cutoff, where=where))
        return result

    def status(self, include_paths: bool = False, timeout: float | None = 60.0) -> LibraryStatus:
        value: LibraryStatus = self.request(p.Status(include_paths=include_paths), timeout, repeatable=True)
        return value

    def _send(self, command: p.Command) -> None:
        with self._lock:
            conn = self._conn
        if self.fatal:
            raise WorkerError(self.fatal)
        if conn is None:
            raise WorkerLost("the worker is not running")
        with self._send_lock:
            try:
                conn.send(command)
            except (OSError, ValueError):
                # the worker just died: the reader restarts it; a command sent meanwhile is lost
                raise WorkerLost("the worker stopped; it is being restarted, try again") from None

    # -- events ---------------------------------------------------------------------------

    def _read(self, conn: Connection, process: BaseProcess) -> None:
        while True:
            try:
                event = conn.recv()
            except (EOFError, OSError):
                break
            self._dispatch(event)
        process.join(10)
        self._worker_ended(process)

    def _dispatch(self, event: p.Event) -> None:
        if isinstance(event, p.Ready):
            self.offline = ""
            # a library is made only on the first start the user asked for: a worker that
            # replaces this one must find it (else the library is offline, not made anew)
            self.settings = dataclasses.replace(self.settings, create_library=False)
            self.ready.set()
        elif isinstance(event, p.Reply):
            self._finish(event.request_id, event.value)
        elif isinstance(event, p.Results):
            self._finish(event.request_id, event)
        elif isinstance(event, p.Failed):
            self._finish(event.request_id, WorkerError(event.message))
        elif isinstance(event, p.Superseded):
            self._finish(event.request_id, SearchSuperseded("superseded by a newer search"))
        elif isinstance(event, p.WorkerProblem):
            self._last_problem = event.message
        self._deliver(event)

    def _deliver(self, event: p.Event) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a broken listener must not kill the reader, but it must be seen
                log.exception("a worker event listener failed on %s", type(event).__name__)

    def _finish(self, request_id: int, value: Any) -> None:
        with self._lock:
            future = self._pending.pop(request_id, None)
        if future is None or future.done():
            return
        if isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)

    def _worker_ended(self, process: BaseProcess) -> None:
        exitcode = process.exitcode
        with self._lock:
            if process is not self._process:
                return
            self._conn = None
            closing = self._closing
            pending, self._pending = self._pending, {}
        offline = exitcode == OFFLINE_EXIT
        writable = exitcode == WRITABLE_EXIT  # a search-only worker stepped down for one that writes
        self._early_deaths = 0 if self.ready.is_set() or offline or writable else self._early_deaths + 1
        self.ready.clear()  # until the worker that replaces it says Ready
        if exitcode == FATAL_EXIT:
            self.fatal = self._last_problem or "the worker cannot open the library"
        elif self._early_deaths >= MAX_EARLY_DEATHS and not closing:
            detail = self._last_problem or f"exit status {exitcode}"
            self.fatal = f"the worker failed to start {self._early_deaths} times in a row ({detail})"
        for future in pending.values():
            if not future.done():
                future.set_exception(WorkerError(self.fatal) if self.fatal else WorkerLost("the worker stopped before answering"))
        if closing:
            return
        restarting = self.restart and self.fatal is None
        if offline:
            message = f"library offline: {self._last_problem}" if self._last_problem else "library offline"
            if not self.offline:  # said once; the library is looked for again quietly
                self._deliver(p.WorkerExited(exitcode, restarting, message))
            self.offline = message
        elif writable:
            pass  # nothing went wrong: the next worker says Ready as the writer
        else:
            message = self.fatal or f"the worker stopped unexpectedly (exit status {exitcode})"
            self._deliver(p.WorkerExited(exitcode, restarting, message))
        if restarting:
            uptime = time.monotonic() - self._started_at
            delay = self.restart_delay_s if uptime > 10 else min(10.0, self.restart_delay_s * 4)
            time.sleep(self.offline_retry_s if offline else 0.0 if writable else delay)
            with self._lock:
                if self._closing:
                    return
            self.restarts += 1
            self._spawn()
