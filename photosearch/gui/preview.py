"""The large preview (Space or double-click… Enter opens the system viewer instead).

The photo is read scaled to the screen, upright, on the GUI thread's idle time: a scaled read
of a 12 MP JPEG costs a few milliseconds. Formats Qt cannot read (HEIC, AVIF) show their
thumbnail. Left and Right step through the results; Space or Escape closes it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QKeyEvent, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from photosearch.records import SearchHit

from .text import hit_text
from .thumbnails import read_scaled


class PreviewDialog(QDialog):
    def __init__(self, step: Callable[[int], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModal(False)
        self.setWindowTitle("Preview")
        self._step = step
        layout = QVBoxLayout(self)
        self.picture = QLabel(self)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(200, 150)
        self.info = QLabel(self)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setWordWrap(True)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.info)
        self.hit: SearchHit | None = None

    def show_hit(self, hit: SearchHit, thumbnail: str) -> None:
        self.hit = hit
        screen = self.screen().availableGeometry().size() if self.screen() else QSize(1280, 800)
        ratio = self.devicePixelRatioF()
        box = QSize(int(screen.width() * 0.8 * ratio), int(screen.height() * 0.75 * ratio))
        # a video, or a RAW whose first picture Qt would show unturned: their thumbnails (a
        # video's the frame that matched) are what can be shown
        image = (read_scaled(hit.path, box) if hit.kind == "photo" else None) or read_scaled(thumbnail, box)
        if image is not None:
            pixmap = QPixmap.fromImage(image)
            pixmap.setDevicePixelRatio(ratio)
            self.picture.setPixmap(pixmap)
        else:
            self.picture.setText("This photo cannot be shown.")
        self.info.setText(hit_text(hit))
        self.setWindowTitle(f"Preview — {hit.path.rsplit('/', 1)[-1]}")
        self.adjustSize()
        self.show()
        self.raise_()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Right, Qt.Key.Key_Down):
            self._step(1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Up):
            self._step(-1)
        elif key in (Qt.Key.Key_Space, Qt.Key.Key_Escape):
            self.close()
        else:
            super().keyPressEvent(event)
