"""The search field: words typed, plus dropped photos as removable chips ("this photo, at night").

It tells the window when the query settles (`query_changed`, debounced), so typing a word sends
one search rather than one per key; the window makes sure the newest query wins.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QStyle, QToolButton, QWidget

from .thumbnails import read_scaled

DEBOUNCE_MS = 60  # a query per pause in typing; the worker drops those overtaken ("superseded")


class ImageChip(QToolButton):
    """A dropped photo in the query: its thumbnail and name; clicking it removes it."""

    def __init__(self, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        name = os.path.basename(path)
        self.setText(f"{name[:18]}{'…' if len(name) > 18 else ''}  ✕")
        image = read_scaled(path, QSize(48, 48))  # a scaled read: a 12 MP original costs milliseconds, not ~70
        if image is not None:
            self.setIcon(QIcon(QPixmap.fromImage(image)))
        else:  # a format Qt cannot read (HEIC, AVIF): a picture's icon, never an empty chip
            self.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon))
        self.setIconSize(QSize(20, 20))
        self.setToolTip(f"{path}\n(click to remove it from the search)")
        self.setAccessibleName(f"query photo {name}, remove")


class SearchBar(QWidget):
    query_changed = Signal()
    to_results = Signal()  # Down (or Enter twice) in the field: the user goes on to the results

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self._chips = QHBoxLayout()
        self._chips.setSpacing(2)
        layout.addLayout(self._chips)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText('Search your photos: "dog on a beach", beach -people, or drop a photo here')
        self.edit.setClearButtonEnabled(True)
        self.edit.setAccessibleName("search")
        layout.addWidget(self.edit, 1)
        # the field is as tall as a chip: no jump when one comes (a chip of no file, never shown:
        # a child would show until the event loop deletes it)
        self.edit.setMinimumHeight(ImageChip("").sizeHint().height())
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.query_changed)
        self.edit.textChanged.connect(lambda _: self._timer.start())
        self.edit.returnPressed.connect(self._now)
        self.edit.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        pressed = watched is self.edit and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
        if pressed and event.key() in (Qt.Key.Key_Down, Qt.Key.Key_PageDown):  # type: ignore[attr-defined]
            self.to_results.emit()
            return True
        return super().eventFilter(watched, event)

    def text(self) -> str:
        return self.edit.text().strip()

    def images(self) -> tuple[str, ...]:
        return tuple(self._chip(i).path for i in range(self._chips.count()))

    def _chip(self, i: int) -> ImageChip:
        item = self._chips.itemAt(i)
        widget = item.widget() if item is not None else None
        assert isinstance(widget, ImageChip)
        return widget

    def set_query(self, text: str, images: tuple[str, ...] = ()) -> None:
        self.clear_images(notify=False)
        for path in images:
            self.add_image(path, notify=False)
        self.edit.setText(text)
        self._now()

    def add_image(self, path: str, notify: bool = True) -> None:
        chip = ImageChip(path, self)
        chip.clicked.connect(lambda: self._remove(chip))
        self._chips.addWidget(chip)
        if notify:
            self._now()

    def clear_images(self, notify: bool = True) -> None:
        while self._chips.count():
            chip = self._chip(0)
            self._chips.removeWidget(chip)
            chip.deleteLater()
        if notify:
            self._now()

    def _remove(self, chip: ImageChip) -> None:
        self._chips.removeWidget(chip)
        chip.deleteLater()
        self._now()
        self.edit.setFocus()

    def _now(self) -> None:
        self._timer.stop()
        self.query_changed.emit()

    def stop(self) -> None:
        self._timer.stop()
