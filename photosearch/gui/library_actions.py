"""What the window does to its library through the command line: import weights, make the
demo library. Each runs as a child process (never blocking the window) against the library the
window has open, and says what it is doing until it ends.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, Signal

from photosearch.places import demo_folder, demo_library

from .bridge import WorkerBridge

MAX_MESSAGE = 300  # characters of a failed command's last line that a notice shows


def self_command(*args: str) -> tuple[str, list[str]]:
    """How to run this program's command line (a frozen app is its own executable)."""
    if getattr(sys, "frozen", False):
        return sys.executable, list(args)
    return sys.executable, ["-m", "photosearch", *args]


class CommandRunner(QObject):
    """One command at a time; `busy` says so while it runs (the window keeps its notice up)."""

    notice = Signal(str)  # passing news: what is being done, what failed
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._process: QProcess | None = None
        self._then: Callable[[bool, str], None] | None = None

    @property
    def busy(self) -> bool:
        return self._process is not None

    def run(self, args: list[str], message: str, then: Callable[[bool, str], None]) -> bool:
        """Run `photosearch ARGS`; `then(succeeded, last line of its output)` when it ends.
        False (nothing started) while another command runs."""
        if self._process is not None:
            self.notice.emit("Another task is still running; try again when it is done")
            return False
        program, arguments = self_command(*args)
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.finished.connect(lambda code, _status: self._done(process, code))
        process.errorOccurred.connect(lambda _error: self._failed_to_start(process))
        self._process, self._then = process, then
        self.busy_changed.emit(True)
        self.notice.emit(message)  # while busy: it stays up until the task ends
        process.start(program, arguments)
        return True

    def _failed_to_start(self, process: QProcess) -> None:
        if process.state() == QProcess.ProcessState.NotRunning and process is self._process:
            self._done(process, -1)

    def _done(self, process: QProcess, code: int) -> None:
        if process is not self._process:
            return
        output = bytes(process.readAll().data()).decode("utf-8", "replace").strip().splitlines()
        self._process = None
        process.deleteLater()
        last = output[-1][:MAX_MESSAGE] if output else ""
        if last.startswith("photosearch: error: "):
            last = last.removeprefix("photosearch: error: ")
        then, self._then = self._then, None
        self.busy_changed.emit(False)
        if then is not None:
            then(code == 0, last or f"the task failed (exit status {code})")

    def stop(self) -> None:
        process, self._process, self._then = self._process, None, None
        if process is not None:
            process.kill()
            process.waitForFinished(5000)


def make_demo(commands: CommandRunner, bridge: WorkerBridge, then: Callable[[Path | None, str], None]) -> None:
    """Write the demo library's sample photos and index them with the bundled tiny model (offline);
    `then(its home, "")` to switch to it, or `then(None, why)`. The demo indexes as its library's
    writer, so the worker (which may hold it) stops first; on failure the caller starts it again."""
    folder = demo_folder()
    home = demo_library(folder)
    args = ["demo", "--folder", str(folder), "--library", str(home)]

    def run() -> None:
        commands.run(args, "Preparing the demo library…", lambda ok, why: then(home if ok else None, why))

    bridge.stop(then=run)
