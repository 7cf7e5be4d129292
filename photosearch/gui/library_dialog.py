"""The library: its folders with their counts and state, adding and removing them, and the
files that were skipped with their reasons. Non-modal; it refreshes from status replies."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photosearch.records import LibraryStatus


def _table(headers: list[str], parent: QWidget) -> QTableWidget:
    table = QTableWidget(0, len(headers), parent)
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return table


def _cell(text: str, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class LibraryDialog(QDialog):
    add_folder = Signal(str)
    remove_folder = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Library folders")
        self.setModal(False)
        self.resize(760, 460)
        layout = QVBoxLayout(self)
        self.summary = QLabel("Asking the worker…", self)
        self.summary.setWordWrap(True)  # a long line (the int8 choice and its figures) wraps, never widens the dialog
        layout.addWidget(self.summary)
        self.folders = _table(["Folder", "Indexed", "Skipped", "Pending", "State"], self)
        layout.addWidget(self.folders, 2)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("&Add folder…", self)
        self.add_button.clicked.connect(self._pick)
        self.remove_button = QPushButton("&Remove folder", self)
        self.remove_button.setToolTip("Forget the folder and its photos (the files are never touched)")
        self.remove_button.clicked.connect(self._remove)
        self.remove_button.setEnabled(False)  # until a folder is chosen
        self.folders.itemSelectionChanged.connect(
            lambda: self.remove_button.setEnabled(bool(self.folders.selectionModel().selectedRows()))
        )
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(QLabel("Skipped files", self))
        self.skipped = _table(["File", "Reason"], self)
        self.skipped.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.skipped, 1)

    def show_status(self, status: LibraryStatus) -> None:
        photos = status.photos
        text = f"{photos.indexed} photos searchable with {status.model}; {photos.pending} waiting, {photos.skipped} skipped"
        worker = status.worker
        if worker is not None and worker.inference_backend:
            threads = f"{worker.inference_threads} thread{'s' if worker.inference_threads != 1 else ''}"
            text += f"\nInference: {worker.inference_backend}, {threads}"
            if worker.backend_note:
                text += f" ({worker.backend_note})"
        if status.int8:
            text += f"\nint8 image graph: {status.int8}"
        self.summary.setText(text)
        self.folders.setRowCount(len(status.folders))
        for row, folder in enumerate(status.folders):
            counts = folder.photos
            self.folders.setItem(row, 0, _cell(folder.path))
            self.folders.setItem(row, 1, _cell(str(counts.indexed), True))
            self.folders.setItem(row, 2, _cell(str(counts.skipped), True))
            self.folders.setItem(row, 3, _cell(str(counts.pending), True))
            self.folders.setItem(row, 4, _cell(folder.state))
        self.skipped.setRowCount(len(status.skipped))
        for row, item in enumerate(status.skipped):
            self.skipped.setItem(row, 0, _cell(item.path))
            self.skipped.setItem(row, 1, _cell(item.reason))

    def _pick(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.add_folder.emit(folder)

    def _remove(self) -> None:
        """Remove the chosen folder, and only after the user confirms, naming what goes."""
        rows = self.folders.selectionModel().selectedRows()
        if not rows:
            return
        row = rows[0].row()
        path, indexed = (item.text() if (item := self.folders.item(row, column)) else "" for column in (0, 1))
        confirm = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove folder",
            f"Remove {path} from the library?\n\nIts {indexed} photos leave the search; the files themselves are not touched.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        remove = confirm.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        confirm.setDefaultButton(QMessageBox.StandardButton.Cancel)
        confirm.exec()
        if confirm.clickedButton() is remove:
            self.remove_folder.emit(path)
