"""The worker, seen from the GUI thread: Qt signals in, commands out, never a blocking call.

The client delivers events on its reader thread; one queued signal carries each to the GUI
thread, where it is sorted into typed signals. Commands are sent without waiting (the pipe
write is all the GUI thread pays); answers come back as `answered`/`failed` with the request id,
so a window can drop stale ones. Shutting down waits for the worker to save, once, at close.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from photosearch.worker import protocol as p
from photosearch.worker.client import WorkerClient, WorkerError
from photosearch.worker.protocol import WorkerSettings

log = logging.getLogger(__name__)


MODEL_NOTES = "photosearch.core.models"  # the logger of the worker's model notes (a name, not an import)


class WorkerBridge(QObject):
    _event = Signal(object)  # from the reader thread; queued to the GUI thread
    _stopped = Signal()  # the worker being stopped has exited (from its stopping thread)

    ready = Signal(object)  # p.Ready
    answered = Signal(int, object)  # request id, Reply.value or Results
    failed = Signal(int, str)  # request id, one line for the user
    progress = Signal(object)  # Progress
    state = Signal(str)
    folders_changed = Signal(str, str, str)  # path, state, note
    notice = Signal(str)  # something to show in the status bar (never a modal box)
    exited = Signal(object)  # p.WorkerExited
    download = Signal(object)  # DownloadProgress

    def __init__(self, settings: WorkerSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.client: WorkerClient | None = None
        self.ready_event: p.Ready | None = None
        self._event.connect(self._dispatch)
        self._stopped.connect(self._after_stop)
        self._stopping: threading.Thread | None = None
        self._then: Callable[[], None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Spawn the worker and return at once; `ready` says when it answers."""
        self.client = WorkerClient(self.settings, on_event=self._event.emit)
        self.client.start(timeout=None)

    def restart(self, settings: WorkerSettings) -> None:
        """A new worker with new settings (model, device); `ready` follows from it."""
        self.settings = settings
        self.stop(then=self.start)

    def stop(self, then: Callable[[], None]) -> None:
        """Stop the worker without blocking the window, then call `then` in the GUI thread. The
        worker finishes its batch, saves and exits (releasing the library's writer lock, which
        a new worker or a demo needs) on a thread of its own, which may take seconds."""
        old, self.client = self.client, None
        self.ready_event = None

        def stop_worker() -> None:
            if old is not None:
                old.shutdown(timeout=30)
            self._stopped.emit()

        self._then = then
        self._stopping = threading.Thread(target=stop_worker, name="worker-stop", daemon=True)
        self._stopping.start()

    def _after_stop(self) -> None:
        then, self._then = self._then, None
        if then is not None:  # not when the window closed meanwhile
            then()

    def shutdown(self) -> None:
        self._then = None
        if self._stopping is not None:
            self._stopping.join()
            self._stopping = None
        client, self.client = self.client, None
        if client is not None:
            client.shutdown(timeout=30)

    @property
    def is_ready(self) -> bool:
        return self.ready_event is not None

    # -- commands -------------------------------------------------------------------------

    def send(self, command: p.Command) -> int:
        """Send without waiting; returns the request id (0 when no worker runs: `failed` follows)."""
        client = self.client
        if client is None:
            return 0
        try:
            request_id, _ = client.send(command)
        except WorkerError as exc:
            self.notice.emit(str(exc))
            return 0
        return request_id

    # -- events (GUI thread) --------------------------------------------------------------

    @Slot(object)
    def _dispatch(self, event: p.Event) -> None:
        if isinstance(event, p.Ready):
            self.ready_event = event
            self.ready.emit(event)
        elif isinstance(event, p.Results):
            self.answered.emit(event.request_id, event)
        elif isinstance(event, p.Reply):
            self.answered.emit(event.request_id, event.value)
        elif isinstance(event, p.Failed):
            self.failed.emit(event.request_id, event.message)
        elif isinstance(event, p.IndexingProgress):
            self.progress.emit(event.progress)
        elif isinstance(event, p.StateChanged):
            self.state.emit(event.state)
        elif isinstance(event, p.FolderChanged):
            self.folders_changed.emit(event.path, event.state, event.note)
        elif isinstance(event, p.ModelDownload):
            self.download.emit(event.progress)
        elif isinstance(event, p.WorkerProblem):
            self.notice.emit(event.message)
        elif isinstance(event, p.WorkerLog):
            # errors, and the model's notes: a one-time export for this CPU (tens of seconds
            # of "loading model" must say why) or a fallback to torch
            if event.level >= logging.ERROR or event.logger.startswith(MODEL_NOTES):
                self.notice.emit(event.message)
        elif isinstance(event, p.WorkerExited):
            self.ready_event = None
            self.exited.emit(event)
