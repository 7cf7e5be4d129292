"""Text for a terminal: a progress bar and durations (shared by `index`, `demo` and `watch`)."""

from __future__ import annotations

import sys
import time

from photosearch.durations import duration_text
from photosearch.records import DownloadProgress, Progress


class ProgressBar:
    """A one-line progress bar on stderr (plain periodic lines when stderr is not a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self._last_line = 0.0

    def __call__(self, progress: Progress) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * progress.fraction)
        eta = duration_text(progress.eta_s) if progress.eta_s is not None else "--:--"
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {progress.done}/{progress.total} photos"
            f"  {progress.rate:5.1f}/s  ETA {eta}" + (f"  skipped {progress.skipped}" if progress.skipped else "")
        )
        self._show(line, final=progress.done == progress.total)

    def download(self, progress: DownloadProgress) -> None:
        """The same bar for a download: bytes, rate, and the time left when the size is known."""
        if not self.enabled:
            return
        width, fraction = 30, progress.fraction
        filled = int(width * fraction) if fraction is not None else 0
        left = (progress.total - progress.done) / progress.rate if progress.total and progress.rate > 0 else None
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {megabytes(progress.done)}"
            + (f"/{megabytes(progress.total)}" if progress.total else "")
            + f"  {megabytes(progress.rate)}/s  ETA {duration_text(left) if left is not None else '--:--'}"
        )
        self._show(line, final=progress.done == progress.total)

    def _show(self, line: str, final: bool) -> None:
        """Redraw the line on a terminal; elsewhere (a log, a pipe) print it every 5 s and at the end."""
        if self.tty:
            sys.stderr.write("\r" + line.ljust(100))
            sys.stderr.flush()
        elif final or time.monotonic() - self._last_line > 5:
            self._last_line = time.monotonic()
            print(line, file=sys.stderr)

    def finish(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")


def megabytes(count: float) -> str:
    return f"{count / 1e6:.1f} MB"
