"""What the window shows instead of a grid: a first run without folders, a model whose weights
are missing (download with progress and cancel, or import a file), or a hint to type."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from photosearch.durations import duration_text
from photosearch.records import DownloadProgress

from .text import size_text


class EmptyState(QWidget):
    add_folder = Signal()
    try_demo = Signal()
    download = Signal()
    cancel_download = Signal()
    import_weights = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.title = QLabel(self)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        self.title.setFont(font)
        self.text = QLabel(self)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        row = QHBoxLayout()
        row.addStretch(1)
        self.add_button = QPushButton("&Add a photo folder…", self)
        self.demo_button = QPushButton("Try the &demo library", self)
        self.download_button = QPushButton("&Download the model", self)
        self.cancel_button = QPushButton("&Cancel", self)
        self.import_button = QPushButton("&Import a weights file…", self)
        for button in (self.add_button, self.download_button, self.cancel_button, self.import_button, self.demo_button):
            row.addWidget(button)  # the page's own action first, the demo last
        row.addStretch(1)
        layout.addLayout(row)
        self.bar = QProgressBar(self)
        self.bar.setMaximumWidth(480)
        bar_row = QHBoxLayout()
        bar_row.addStretch(1)
        bar_row.addWidget(self.bar)
        bar_row.addStretch(1)
        layout.addLayout(bar_row)
        layout.addStretch(2)
        self.add_button.clicked.connect(self.add_folder)
        self.demo_button.clicked.connect(self.try_demo)
        self.download_button.clicked.connect(self.download)
        self.cancel_button.clicked.connect(self.cancel_download)
        self.import_button.clicked.connect(self.import_weights)
        self.show_message("Starting…", "")

    def _buttons(self, *visible: QPushButton) -> None:
        for button in (self.add_button, self.demo_button, self.download_button, self.cancel_button, self.import_button):
            button.setVisible(button in visible)
        self.bar.setVisible(self.cancel_button in visible)

    def show_message(self, title: str, text: str) -> None:
        self.title.setText(title)
        self.text.setText(text)
        self._buttons()

    def show_first_run(self) -> None:
        self.title.setText("Welcome to photosearch")
        self.text.setText(
            "Add a folder of photos and they become searchable by what they show: type “dog on a beach at "
            "sunset”, or drop a photo here to find others like it. Folders stay up to date by themselves."
        )
        self._buttons(self.add_button, self.demo_button)
        self.add_button.setDefault(True)

    def show_missing_model(self, model: str, message: str = "") -> None:
        self.title.setText(f"The model {model} is not on this computer yet")
        if message:  # why the download failed, in the window's words
            why = f"{message[:1].upper()}{message[1:]}".rstrip(".")
            self.text.setText(
                f"{why}. Fetch that file on a computer that can, then import it here; "
                "or try the demo library, which needs no download."
            )
        else:
            self.text.setText(
                "photosearch needs it once to understand your photos (a download of a few hundred megabytes). "
                "Offline? Import its weights file instead, or try the demo library, which needs no download."
            )
        self._buttons(self.download_button, self.import_button, self.demo_button)
        self.download_button.setDefault(True)

    def show_download(self, progress: DownloadProgress) -> None:
        self._buttons(self.cancel_button)
        self.title.setText(f"Downloading {progress.model}…")
        if progress.total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * progress.done / progress.total))
            left = (progress.total - progress.done) / progress.rate if progress.rate > 0 else None
            eta = f", about {duration_text(left)} left" if left is not None else ""
            self.text.setText(f"{size_text(progress.done)} of {size_text(progress.total)} at {size_text(progress.rate)}/s{eta}")
        else:
            self.bar.setRange(0, 0)
            self.text.setText(f"{size_text(progress.done)} at {size_text(progress.rate)}/s")
