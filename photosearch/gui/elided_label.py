"""A label that never widens the window: a long message is cut to the space there is, with an
ellipsis, and shown whole in its tooltip (and on a click, for keyboard and touch users)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolTip, QWidget


class ElidedLabel(QLabel):
    def __init__(
        self, text: str = "", parent: QWidget | None = None, mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight
    ) -> None:
        """`mode`: where the ellipsis goes (ElideLeft for a folder: its last parts tell it apart)."""
        super().__init__(parent)
        self._full = ""
        self._mode = mode
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = " ".join(text.split())  # one line, whatever the message held
        self.setToolTip(self._full if self._elided(self.width()) != self._full else "")
        super().setText(self._full)
        self.update()

    def text(self) -> str:
        return self._full

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(min(hint.width(), 400), hint.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(40, super().minimumSizeHint().height())

    def _elided(self, width: int) -> str:
        return QFontMetrics(self.font()).elidedText(self._full, self._mode, max(0, width))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.setToolTip(self._full if self._elided(self.contentsRect().width()) != self._full else "")

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        painter.drawText(rect, int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), self._elided(rect.width()))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.toolTip():
            QToolTip.showText(event.globalPosition().toPoint(), self._full, self)
        super().mousePressEvent(event)
