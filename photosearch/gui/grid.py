"""The results grid: a `QListView` in icon mode with uniform cells and a painting delegate.

Only visible cells paint, so 100,000 results cost what a screenful does. Cells are uniform, so
the view lays out rows by arithmetic. Dragging results out offers copies only; drops coming in
are handed to the window (`drop_handler`), never to the view, which would move items about.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeyEvent, QPainter, QPalette, QPixmap, QPolygon
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from .results_model import FOLDED_ROLE, MEDIA_ROLE

MARGIN = 4
DEFAULT_CELL = 160
MIN_CELL, MAX_CELL = 80, 320


class ThumbnailDelegate(QStyledItemDelegate):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side = DEFAULT_CELL

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(self.side + 2 * MARGIN, self.side + 2 * MARGIN)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        rect: QRect = option.rect
        palette: QPalette = option.palette
        state = option.state
        painter.save()
        if state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, palette.color(QPalette.ColorRole.Highlight))
        inner = rect.adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        picture = inner  # where the thumbnail is drawn: the marks sit on its corner
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            size = pixmap.deviceIndependentSize().toSize().scaled(inner.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(inner.center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawPixmap(target, pixmap)
            picture = target
        else:
            painter.fillRect(inner.adjusted(8, 8, -8, -8), palette.color(QPalette.ColorRole.Midlight))
        folded = index.data(FOLDED_ROLE)
        if isinstance(folded, int) and folded > 1:  # a badge: this cell stands for its copies and forms too
            badge = f"×{folded}"
            metrics = painter.fontMetrics()
            box = QRect(0, 0, metrics.horizontalAdvance(badge) + 10, metrics.height() + 4)
            box.moveTopRight(inner.topRight() + QPoint(-4, 4))
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(box, 6, 6)
            painter.setPen(palette.color(QPalette.ColorRole.HighlightedText))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, badge)
        media = index.data(MEDIA_ROLE)
        if isinstance(media, tuple) and media[1]:
            _paint_media(painter, picture, bool(media[0]), str(media[1]))
        if state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(palette.color(QPalette.ColorRole.Highlight).darker(130))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.restore()


def _paint_media(painter: QPainter, inner: QRect, video: bool, label: str) -> None:
    """A video's play mark and length, or a RAW/Live Photo label, in the cell's lower left
    corner on a dark plate (legible on any picture)."""
    metrics = painter.fontMetrics()
    mark = metrics.height() if video else 0
    box = QRect(0, 0, mark + metrics.horizontalAdvance(label) + 12, metrics.height() + 4)
    box.moveBottomLeft(inner.bottomLeft() + QPoint(4, -4))
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 170))
    painter.drawRoundedRect(box, 5, 5)
    painter.setBrush(QColor(255, 255, 255))
    if video:
        top, side = box.top() + 4, metrics.height() - 4
        left = box.left() + 6
        painter.drawPolygon(
            QPolygon([QPoint(left, top), QPoint(left, top + side), QPoint(left + side * 7 // 8, top + side // 2)])
        )
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(box.adjusted(mark + 4, 0, -4, 0), Qt.AlignmentFlag.AlignCenter, label)


class ResultsGrid(QListView):
    activated_photo = Signal(int)  # Enter: open in the system viewer
    preview_requested = Signal(int)  # Space or double-click
    near_end = Signal()  # scrolled close to the last row: time to ask for more results

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.delegate = ThumbnailDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(5000)
        self.setWrapping(True)
        self.setSpacing(0)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)  # Static movement turned drops off
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.drop_handler: Callable[[QDropEvent], bool] | None = None
        self.accepts_drop: Callable[[Any], bool] | None = None
        self.doubleClicked.connect(lambda index: self.preview_requested.emit(index.row()))
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.set_cell(DEFAULT_CELL)

    def set_cell(self, side: int) -> None:
        self.delegate.side = max(MIN_CELL, min(MAX_CELL, side))
        cell = QSize(self.delegate.side + 2 * MARGIN, self.delegate.side + 2 * MARGIN)
        self.setGridSize(self._spread(cell))
        self.setIconSize(QSize(self.delegate.side, self.delegate.side))
        self.verticalScrollBar().setSingleStep(max(8, cell.height() // 4))
        self.scheduleDelayedItemsLayout()

    def _spread(self, cell: QSize) -> QSize:
        """The grid's cells widened to share the row's width: no unused margin on the right."""
        # the list view wraps its rows as if its scroll bar were there, shown or not
        bar = 0 if self.verticalScrollBar().isVisible() else self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        width = self.viewport().width() - bar - 2
        columns = max(1, width // max(1, cell.width()))
        return QSize(max(cell.width(), width // columns), cell.height())

    def viewportEvent(self, event: QEvent) -> bool:
        # the viewport, not the view, changes width when the scroll bar comes or goes
        if event.type() == QEvent.Type.Resize:
            side = self.delegate.side + 2 * MARGIN
            spread = self._spread(QSize(side, side))
            if spread != self.gridSize():
                self.setGridSize(spread)
        return super().viewportEvent(event)

    def visible_rows(self) -> range:
        """The rows whose cells are on screen now: arithmetic on the uniform grid, never a loop
        over the rows."""
        model = self.model()
        if model is None or model.rowCount() == 0:
            return range(0)
        cell = self.gridSize()
        viewport = self.viewport().rect()
        columns = max(1, viewport.width() // max(1, cell.width()))
        start = self.verticalScrollBar().value() // max(1, cell.height()) * columns  # the grid scrolls by pixels
        lines = viewport.height() // max(1, cell.height()) + 2
        return range(start, min(model.rowCount(), start + columns * lines))

    def _scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        if bar.maximum() - value < 2 * self.viewport().height():
            self.near_end.emit()

    # -- keys -----------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        index = self.currentIndex()
        if event.key() == Qt.Key.Key_Space and index.isValid():
            self.preview_requested.emit(index.row())
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and index.isValid():
            self.activated_photo.emit(index.row())
            return
        model = self.model()
        plain = not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if event.key() in (Qt.Key.Key_Home, Qt.Key.Key_End) and plain and model is not None and model.rowCount():
            # as in a file manager: the first or last photo (of those loaded), chosen and in view
            row = 0 if event.key() == Qt.Key.Key_Home else model.rowCount() - 1
            self.setCurrentIndex(model.index(row, 0))
            self.scrollTo(model.index(row, 0))
            return
        super().keyPressEvent(event)

    # -- drag and drop --------------------------------------------------------------------

    def startDrag(self, supportedActions: Qt.DropAction) -> None:
        super().startDrag(Qt.DropAction.CopyAction)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self._accept(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._accept(event)

    def _accept(self, event: QDragEnterEvent | QDragMoveEvent) -> None:
        if event.source() is self or self.accepts_drop is None or not self.accepts_drop(event.mimeData()):
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        if event.source() is self or self.drop_handler is None:
            event.ignore()
            return
        if self.drop_handler(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()
