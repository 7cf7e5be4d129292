"""Files the system asks the running app to open: macOS sends them as FileOpen events ("Open
With", a drop on the Dock icon), possibly before the window exists; they are kept until it
does, then searched for as if they had been dropped."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication


class FileOpenEvents(QObject):
    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.pending: list[str] = []
        self.open_image: Callable[[str], None] | None = None
        app.installEventFilter(self)

    def deliver_to(self, open_image: Callable[[str], None]) -> None:
        """From now on files go here (the window's search for similar photos); early ones go now."""
        self.open_image = open_image
        pending, self.pending = self.pending, []
        for path in pending:
            self._open(path)

    def _open(self, path: str) -> None:
        if self.open_image is None:
            self.pending.append(path)
        else:
            self.open_image(path)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent) and event.file():
            self._open(event.file())
            return True
        return super().eventFilter(watched, event)
