"""`photosearch watch`: run the worker headless with a live status line until Ctrl+C or SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from photosearch.durations import duration_text
from photosearch.records import Progress, WorkerState, printable
from photosearch.worker import protocol as p
from photosearch.worker.client import WorkerClient, WorkerError
from photosearch.worker.protocol import WorkerSettings

WATCH_TEXT = {
    WorkerState.IDLE: "up to date; watching for changes",
    WorkerState.SCANNING: "scanning folders…",
    WorkerState.DISK_FULL: "disk full: indexing paused (searching still works)",
}


class StatusLine:
    """One live line on a terminal; plain lines (state changes, every 10 s) when not a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.state = WorkerState.STARTING
        self.progress: Progress | None = None
        self._lock = threading.Lock()
        self._last_plain = 0.0
        self._last_text = ""

    def on_event(self, event: p.Event) -> None:
        if isinstance(event, p.StateChanged):
            self.state = event.state
            if event.state is not WorkerState.INDEXING:
                self.progress = None
            self.render(force=True)
        elif isinstance(event, p.IndexingProgress):
            self.progress = event.progress
            self.render()
        elif isinstance(event, p.FolderChanged):
            self.say(f"folder {event.state}: {printable(event.path)}" + (f" ({event.note})" if event.note else ""))
        elif isinstance(event, p.Skipped):
            self.say(f"skipped {printable(event.path)}: {event.reason}")
        elif isinstance(event, p.WorkerProblem):
            self.say(f"problem: {printable(event.message)}")
        elif isinstance(event, p.WorkerLog) and event.level >= logging.ERROR:
            self.say(f"error: {printable(event.message)} (details in the worker's log)")
        elif isinstance(event, p.WorkerExited):
            self.say(event.message + ("; restarting it" if event.restarting else ""))

    def text(self) -> str:
        progress = self.progress
        if self.state is WorkerState.INDEXING and progress is not None:
            eta = f", about {duration_text(progress.eta_s)} left" if progress.eta_s is not None else ""
            return f"indexing {progress.done}/{progress.total} photos, {progress.rate:.1f}/s{eta}"
        return WATCH_TEXT.get(self.state, str(self.state))

    def render(self, force: bool = False) -> None:
        text = self.text()
        with self._lock:
            if self.tty:
                self.stream.write("\r\033[K" + text)
                self.stream.flush()
            elif text != self._last_text and (force or time.monotonic() - self._last_plain > 10):
                self.stream.write(text + "\n")
                self.stream.flush()
                self._last_plain = time.monotonic()
            self._last_text = text

    def say(self, line: str) -> None:
        with self._lock:
            self.stream.write(("\r\033[K" if self.tty else "") + line + "\n")
            self.stream.flush()
        if self.tty:
            self.render()


def run_watch(paths: list[str], settings: WorkerSettings, stream: TextIO = sys.stderr) -> int:
    line = StatusLine(stream)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    client = WorkerClient(settings, on_event=line.on_event)
    try:
        client.start()
        for raw in paths:
            if not Path(raw).expanduser().is_dir():
                raise WorkerError(f"not a folder: {raw}")
            client.add_folder(raw)
        status = client.status()
        if not status.folders:
            raise WorkerError("the library has no folders yet: photosearch watch PATH…")
        line.say(f"watching {len(status.folders)} folder(s) of {status.library} with {status.model}; Ctrl+C stops")
        while not stop.wait(0.5):
            if client.fatal:
                raise WorkerError(client.fatal)
    finally:
        line.say("stopping…")
        client.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    line.say("stopped; everything indexed so far is saved")
    return 0
