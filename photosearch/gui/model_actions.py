"""The library's model, from the window: the page that says it cannot be used and why, its
download (with progress and cancel), importing a weights file into the open library, and a model
the user just chose that fails giving way to the library's own (a failed choice never sticks).
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QStackedWidget, QWidget

from photosearch.records import LibraryStatus
from photosearch.worker import protocol as p

from .bridge import WorkerBridge
from .empty_state import EmptyState
from .library_actions import CommandRunner

WEIGHTS_FILES = "Weights (*.safetensors *.bin *.pt *.pth)"


class ModelActions(QObject):
    use_model = Signal(str)  # switch this library to the model ("": back to the library's own)
    notice = Signal(str)
    weights_arrived = Signal()  # downloaded: the library's status is worth asking for again

    def __init__(
        self, bridge: WorkerBridge, commands: CommandRunner, page: EmptyState, pages: QStackedWidget, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.bridge, self.commands, self.page, self.pages, self.parent_widget = bridge, commands, page, pages, parent
        self.downloading = False
        self.reason = ""  # why the last download or import failed: the page keeps saying it
        self.chosen: str | None = None  # a model the user just chose, until it proves itself
        self.model = ""  # the library's model, as its latest status names it
        self.library = ""
        page.download.connect(self.download)
        page.cancel_download.connect(lambda: bridge.send(p.CancelDownload()))
        page.import_weights.connect(self.import_weights)
        bridge.download.connect(page.show_download)

    def chose(self, model: str) -> None:
        """The user chose `model` ("": the library's own): it has to prove itself."""
        self.chosen = model or None

    def can_search(self, status: LibraryStatus) -> bool:
        """Whether the library's model can search. When it cannot, the page says why and offers
        a download or an import; a model just chosen that fails gives way to the library's own."""
        self.model, self.library = status.model, status.library
        if status.searchable:
            self.chosen = None  # it works: the choice stands (the library records it)
            return True
        if self.chosen and self.chosen == status.model:
            self.chosen = None
            why = self.reason or "its weights are missing"
            self.notice.emit(f"The model {status.model} cannot be used here ({why}); back to the library's model")
            self.use_model.emit("")
            return False
        if not self.downloading:  # while downloading, the page shows the download's progress
            self.page.show_missing_model(status.model, self.reason)
        self.pages.setCurrentWidget(self.page)
        return False

    def download(self) -> None:
        self.reason = ""
        self.downloading = self.bridge.request(p.DownloadModel(name=self.model), self._downloaded, self._download_failed)

    def _downloaded(self, _path: object) -> None:
        self.downloading = False
        self.page.show_message("Model downloaded", "Loading it…")
        self.weights_arrived.emit()

    def _download_failed(self, reason: str) -> None:
        self.downloading = False
        self.reason = reason  # kept on the page through later status refreshes
        self.page.show_missing_model(self.model or "the model", reason)
        self.pages.setCurrentWidget(self.page)

    def import_weights(self) -> None:
        """Import a weights file into the library this window has open, then use it there."""
        model, library = self.model, self.library
        path, _ = QFileDialog.getOpenFileName(self.parent_widget, f"Weights file for {model}", "", WEIGHTS_FILES)
        if not path or not model or not library:
            return
        name = f"{model}-imported"
        args = ["models", "import", path, "--arch", model, "--name", name, "--library", library]

        def imported(succeeded: bool, message: str) -> None:
            if succeeded:
                self.notice.emit(f"Imported {os.path.basename(path)} as {name}")
                self.use_model.emit(name)
            else:
                self.reason = message
                self.page.show_missing_model(model, message)

        self.commands.run(args, f"Importing {os.path.basename(path)}…", imported)
