"""The worker process's entry point: logging, crash dumps, signals and the command loop.

The client names `run_worker` as its spawn target, so this module stays light: the core (numpy,
hnswlib, and torch behind the embedder) is imported only inside the spawned process.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

from photosearch.errors import UserError
from photosearch.logs import enable_crash_log, setup_logging
from photosearch.privacy import keep_new_files_private
from photosearch.records import WorkerState

from . import protocol as p
from .protocol import FATAL_EXIT, OFFLINE_EXIT, WorkerSettings

LOG_NAME = "worker"  # its log file: <user log dir>/worker.log


class _ForwardWarnings(logging.Handler):
    """Sends the worker's warnings and errors to the client as events (a window can show them)."""

    def __init__(self, emit: Callable[[p.Event], None]) -> None:
        super().__init__(logging.WARNING)
        self._emit = emit

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage().strip().splitlines()
            self._emit(p.WorkerLog(record.levelno, record.name, message[0] if message else ""))
        except Exception:  # a log record must never take the worker down
            self.handleError(record)


def run_worker(conn: Connection, settings: WorkerSettings) -> None:
    """Body of the worker process (spawned): serve commands until Shutdown, SIGTERM or a closed pipe."""
    keep_new_files_private()
    setup_logging(LOG_NAME)
    enable_crash_log(LOG_NAME)
    send_lock = threading.Lock()

    def emit(event: p.Event) -> None:
        with send_lock:
            try:
                conn.send(event)
            except (OSError, ValueError):
                pass  # the client is gone; the command loop notices and stops

    logging.getLogger("photosearch").addHandler(_ForwardWarnings(emit))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the client's to handle
    try:
        from .service import Worker  # the core, imported in the worker process only

        worker = Worker(settings, emit)
    except UserError as exc:
        emit(p.WorkerProblem(str(exc)))
        conn.close()
        sys.exit(OFFLINE_EXIT if isinstance(exc, p.LibraryOffline) else FATAL_EXIT)
    signal.signal(signal.SIGTERM, lambda *_: worker.stopping.set())
    library = worker.library
    models = worker.model_choices()
    emit(
        p.Ready(
            os.getpid(),
            library.model,
            str(library.home),
            str(library.thumbnails.folder),
            tuple(m.name for m in models),
            tuple(m.name for m in models if not m.downloaded),
            worker.gpu_possible(),
        )
    )
    worker.start()
    try:
        while not worker.stopping.is_set():
            try:
                if not conn.poll(0.2):
                    continue
                command = conn.recv()
            except (EOFError, OSError):
                break  # the client died or closed the pipe
            if isinstance(command, p.Command):
                worker.handle(command)
    finally:
        emit(p.StateChanged(WorkerState.STOPPING))
        worker.stop()
        conn.close()
