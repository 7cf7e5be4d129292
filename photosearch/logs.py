"""Logging for both processes: a logger per subsystem, a rotating file each, crash dumps.

Every module logs to `logging.getLogger(__name__)`, so a record names its subsystem
(`photosearch.core.index.store`, `photosearch.worker.process` …). The window's process and the
worker each write their own rotating file in the user log dir (two processes rotating one file
would race), Python warnings included, so library noise never reaches a terminal or a window.
The worker also dumps native crashes there (hnswlib and image decoders run C code that can
kill it). Windowed builds have no stderr: `setup_logging` gives them a harmless one.
"""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import IO

from photosearch.privacy import private_folder

LOG_FORMAT = "%(asctime)s %(process)d %(threadName)s %(name)s %(levelname)s %(message)s"
MAX_BYTES = 2_000_000
BACKUPS = 3

_handlers: dict[str, logging.Handler] = {}
_crash_files: list[IO[str]] = []


def log_dir() -> Path:
    """Where logs go: $PHOTOSEARCH_LOG_DIR, else the platform's user log dir."""
    override = os.environ.get("PHOTOSEARCH_LOG_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_log_dir

    return Path(user_log_dir("photosearch", appauthor=False))


def log_file(process: str) -> Path:
    return log_dir() / f"{process}.log"


def guard_std_streams() -> None:
    """A windowed build (Windows, macOS) starts with sys.stdout and sys.stderr None: what would
    have gone there goes to `<log dir>/console.log` (nowhere, when that cannot be written)."""
    if sys.stdout is not None and sys.stderr is not None:
        return
    try:
        private_folder(log_dir())
        stream = open(log_dir() / "console.log", "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives as long as the process
    except OSError:
        stream = open(os.devnull, "w")  # noqa: SIM115
    sys.stdout = sys.stdout or stream
    sys.stderr = sys.stderr or stream


def setup_logging(process: str, level: int = logging.INFO) -> Path | None:
    """Send this process's photosearch logs and Python warnings to `<log dir>/<process>.log`.

    Idempotent. Returns the file, or None when the log dir cannot be written (logging then
    stays quiet rather than failing the app)."""
    guard_std_streams()
    logging.captureWarnings(True)
    app = logging.getLogger("photosearch")
    app.setLevel(min(level, app.level or level))
    app.propagate = False  # never onto a terminal through the root logger
    warnings_logger = logging.getLogger("py.warnings")
    warnings_logger.propagate = False
    if process in _handlers:
        return log_file(process)
    path: Path | None = log_file(process)
    handler: logging.Handler
    try:
        private_folder(log_dir())
        handler = logging.handlers.RotatingFileHandler(
            log_file(process), maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )
    except OSError:
        handler, path = logging.NullHandler(), None
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    _handlers[process] = handler
    app.addHandler(handler)
    warnings_logger.addHandler(handler)
    return path


def enable_crash_log(process: str) -> Path | None:
    """Dump the Python stacks of every thread to `<process>-crash.log` on a fatal signal."""
    path = log_dir() / f"{process}-crash.log"
    try:
        private_folder(path.parent)
        handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - must stay open for faulthandler
    except OSError:
        return None
    _crash_files.append(handle)
    faulthandler.enable(file=handle, all_threads=True)
    return path


def log_unexpected(logger: logging.Logger, exc: BaseException, process: str = "photosearch") -> str:
    """Log a bug with its traceback; returns ' (details in FILE)' for the user's one line."""
    logger.error("unexpected error", exc_info=exc)
    path = log_file(process)
    return f" (details in {path})" if path.exists() else ""
