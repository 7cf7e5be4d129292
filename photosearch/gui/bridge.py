"""The worker, seen from the GUI thread: Qt signals in, commands out, never a blocking call.

The client delivers events on its reader thread; each is handed to the GUI thread (`to_main`)
and sorted there into typed signals. A command whose answer matters is a `request`: its
callbacks run on the GUI thread with the answer, the failure's reason, or not at all when a
newer search superseded it or its worker died before answering (the window asks again when a
worker is ready). Shutting down waits for the worker to save, once, at close.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from photosearch.records import FolderChange, WorkerState
from photosearch.worker import protocol as p
from photosearch.worker.client import WorkerClient, WorkerError
from photosearch.worker.protocol import WorkerSettings

from .main_thread import to_main

log = logging.getLogger(__name__)


MODEL_NOTES = "photosearch.core.models"  # the logger of the worker's model notes (a name, not an import)

OnResult = Callable[[Any], None]
OnError = Callable[[str], None]


class WorkerBridge(QObject):
    ready = Signal(object)  # p.Ready
    progress = Signal(object)  # Progress
    state = Signal(object)  # WorkerState
    folders_changed = Signal(str, object, str)  # path, FolderChange, note
    notice = Signal(str)  # something to show in the status bar (never a modal box)
    exited = Signal(object)  # p.WorkerExited
    download = Signal(object)  # DownloadProgress
    library_changed = Signal()  # photos came, went or changed (indexing progress counts too)
    thumbnails_made = Signal(object)  # tuple of photo ids whose thumbnails were written anew

    def __init__(self, settings: WorkerSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.client: WorkerClient | None = None
        self.ready_event: p.Ready | None = None
        self.paused = False  # indexing paused by the user: applied to every worker, new ones too
        self._stopping: threading.Thread | None = None
        self._then: Callable[[], None] | None = None
        self._waiting: dict[int, tuple[OnResult, OnError | None]] = {}

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Spawn the worker and return at once; `ready` says when it answers."""
        client = WorkerClient(self.settings, on_event=lambda event: to_main(lambda: self._dispatch(client, event)))
        client.remember_pause(self.paused)  # a new worker starts paused when the user paused
        self.client = client
        client.start(timeout=None)

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
        self._waiting.clear()

        def stop_worker() -> None:
            if old is not None:
                old.shutdown(timeout=30)
            to_main(self._after_stop)

        self._then = then
        self._stopping = threading.Thread(target=stop_worker, name="worker-stop", daemon=True)
        self._stopping.start()

    def _after_stop(self) -> None:
        then, self._then = self._then, None
        if then is not None:  # not when the window closed meanwhile
            then()

    def shutdown(self) -> None:
        self._then = None
        self._waiting.clear()
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
        """Send without waiting for an answer; returns the request id (0: no worker runs)."""
        client = self.client
        if client is None:
            return 0
        try:
            request_id, _ = client.send(command)
        except WorkerError as exc:
            self.notice.emit(str(exc))
            return 0
        return request_id

    def request(self, command: p.Command, on_result: OnResult, on_error: OnError | None = None) -> bool:
        """Send; `on_result(answer)` or `on_error(reason)` runs on the GUI thread when the
        worker answers (neither for a superseded search, nor when the worker dies first).
        Without `on_error`, a failure is shown as a notice. False when no worker could take it."""
        request_id = self.send(command)
        if request_id:
            self._waiting[request_id] = (on_result, on_error)
        return bool(request_id)

    def set_paused(self, paused: bool) -> None:
        """Pause or resume indexing, for this worker and any that replaces it."""
        self.paused = paused
        if self.client is not None:
            self.client.remember_pause(paused)
        self.send(p.Pause() if paused else p.Resume())

    # -- events (GUI thread) --------------------------------------------------------------

    def _dispatch(self, client: WorkerClient, event: p.Event) -> None:
        if client is not self.client:
            return  # from a worker this window has let go of
        if isinstance(event, p.Ready):
            self.ready_event = event
            self.ready.emit(event)
        elif isinstance(event, p.Results | p.Reply | p.Failed | p.Superseded):
            self._answer(event)
        elif isinstance(event, p.IndexingProgress):
            self.progress.emit(event.progress)
            self.library_changed.emit()
        elif isinstance(event, p.LibraryChanged):
            self.library_changed.emit()
        elif isinstance(event, p.ThumbnailsMade):
            self.thumbnails_made.emit(event.photo_ids)
        elif isinstance(event, p.StateChanged):
            self.state.emit(WorkerState(event.state))
        elif isinstance(event, p.FolderChanged):
            self.folders_changed.emit(event.path, FolderChange(event.state), event.note)
        elif isinstance(event, p.ModelDownload):
            self.download.emit(event.progress)
        elif isinstance(event, p.WorkerProblem):
            self.notice.emit(event.plain or event.message)
        elif isinstance(event, p.WorkerLog):
            # errors, and the model's notes: a one-time export for this CPU (tens of seconds
            # of "loading model" must say why) or a fallback to torch
            if event.level >= logging.ERROR or event.logger.startswith(MODEL_NOTES):
                self.notice.emit(event.message)
        elif isinstance(event, p.WorkerExited):
            self.ready_event = None
            self._waiting.clear()  # their answers are lost with the worker: asked again when needed
            self.exited.emit(event)

    def _answer(self, event: p.Results | p.Reply | p.Failed | p.Superseded) -> None:
        callbacks = self._waiting.pop(event.request_id, None)
        if callbacks is None or isinstance(event, p.Superseded):
            return
        on_result, on_error = callbacks
        if isinstance(event, p.Failed):
            reason = event.plain or event.message  # the window's words
            if on_error is not None:
                on_error(reason)
            else:
                self.notice.emit(reason)
        else:
            on_result(event if isinstance(event, p.Results) else event.value)
