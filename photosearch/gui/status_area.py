"""The status bar: what the worker is doing, indexing progress, pause, and passing notices.

The state says what is true now ("Paused", "Disk full: indexing paused", "1,234 photos
searchable"); notices are passing news (a folder added, a worker restarted) that fade. Neither
can widen the window, and the pause button does not move as the text beside it changes.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QProgressBar, QStatusBar, QStyle, QToolButton

from photosearch.durations import duration_text
from photosearch.records import LibraryStatus, Progress, WorkerState

from .elided_label import ElidedLabel

NOTICE_MS = 15_000

# how a worker state reads in the window (states not listed are shown by their words)
STATE_TEXT = {
    WorkerState.STARTING: "Starting…",
    WorkerState.SCANNING: "Scanning folders…",
    WorkerState.LOADING_MODEL: "Loading the model…",
    WorkerState.MODEL_UNAVAILABLE: "The model cannot be used",
    WorkerState.PAUSED: "Paused",
    WorkerState.DISK_FULL: "Disk full: indexing paused",
    WorkerState.SEARCH_ONLY: "Read-only: searching only",
    WorkerState.MAKING_THUMBNAILS: "Making thumbnails…",
    WorkerState.FINDING_DUPLICATES: "Finding duplicates…",
}


class StatusArea(QObject):
    pause_toggled = Signal(bool)

    def __init__(self, bar: QStatusBar) -> None:
        super().__init__(bar)
        self.bar = bar
        self.state_label = ElidedLabel("Starting the worker…", bar)
        self.progress = QProgressBar(bar)
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.pause_button = QToolButton(bar)
        self.pause_button.setCheckable(True)
        self.pause_button.setAccessibleName("Pause indexing")
        self.notice = ElidedLabel("", bar)
        bar.addPermanentWidget(self.pause_button)  # on the right: it never moves with the text
        bar.addWidget(self.state_label, 2)
        bar.addWidget(self.progress)
        bar.addWidget(self.notice, 3)
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(lambda: self.notice.setText(""))
        self.pause_button.toggled.connect(self._toggled)
        self._show_pause(False)

    def show_state(self, text: str) -> None:
        self.state_label.setText(text)

    def show_library(self, status: LibraryStatus) -> None:
        """What the library can do now, from its status (while paused, the state stays "Paused")."""
        if self.pause_button.isChecked():
            return
        photos = status.photos
        worker = status.worker
        if not status.searchable:
            self.state_label.setText(f"Searching is not possible: the model {status.model} cannot be used")
        elif worker is not None and worker.state is WorkerState.SEARCH_ONLY:
            self.state_label.setText(f"Read-only: searching only · {photos.indexed} photos · {status.model}")
        else:
            waiting = f", {photos.pending} waiting" if photos.pending else ""
            self.state_label.setText(f"{photos.indexed} photos searchable{waiting} · {status.model}")
        if photos.pending == 0:
            self.progress.setVisible(False)

    def show_worker_state(self, state: WorkerState) -> bool:
        """Show a state that needs saying; False for those the counts say better (idle, indexing)."""
        text = STATE_TEXT.get(state)
        if text is None:
            return False
        if state is WorkerState.PAUSED or not self.pause_button.isChecked():
            self.state_label.setText(text)
        return True

    def show_progress(self, progress: Progress) -> None:
        if progress.total <= 0 or progress.done >= progress.total:
            self.progress.setVisible(False)
            return
        self.progress.setVisible(True)
        self.progress.setRange(0, progress.total)
        self.progress.setValue(progress.done)
        eta = f" · {duration_text(progress.eta_s)} left" if progress.eta_s is not None else ""
        self.progress.setFormat(f"{progress.done}/{progress.total}")
        self.progress.setToolTip(f"Indexing {progress.done} of {progress.total} photos at {progress.rate:.1f}/s{eta}")
        if not self.pause_button.isChecked():
            self.state_label.setText(f"Indexing {progress.done}/{progress.total} · {progress.rate:.1f}/s{eta}")

    def hide_progress(self) -> None:
        self.progress.setVisible(False)

    def show_notice(self, message: str, lasting: bool = False) -> None:
        """Passing news; `lasting`: it stays until the next notice (a task under way)."""
        self.notice.setText(message)
        if lasting:
            self._notice_timer.stop()
        else:
            self._notice_timer.start(NOTICE_MS)

    def set_paused(self, paused: bool) -> None:
        """Show `paused` without sending anything (the window's own state, re-applied)."""
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.blockSignals(False)
        self._show_pause(paused)

    def stop(self) -> None:
        self._notice_timer.stop()

    def _toggled(self, paused: bool) -> None:
        self._show_pause(paused)
        self.pause_toggled.emit(paused)

    def _show_pause(self, paused: bool) -> None:
        tip = "Resume indexing" if paused else "Pause indexing"
        self.pause_button.setToolTip(tip)
        self.pause_button.setAccessibleName(tip)
        icon = QStyle.StandardPixmap.SP_MediaPlay if paused else QStyle.StandardPixmap.SP_MediaPause
        self.pause_button.setIcon(self.bar.style().standardIcon(icon))
        if paused:
            self.state_label.setText(STATE_TEXT[WorkerState.PAUSED])
