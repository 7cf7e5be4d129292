"""The row under the search field: sort, folder, kind and date filters, what the grid shows, size.

The folder list names each folder by as much of its path as tells it apart from the others
(two "Holidays" folders read "2019/Holidays" and "Phone/Holidays"), with the whole path in
its tooltip.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QSlider, QWidget

from photosearch.records import EVERYWHERE, SearchFilter

from .elided_label import ElidedLabel
from .grid import MAX_CELL, MIN_CELL
from .results_model import SORTS


def short_names(paths: list[str]) -> list[str]:
    """For each path, its shortest tail of folder names that no other path ends with."""
    parts = [[p for p in path.split(os.sep) if p] or [path] for path in paths]
    names = []
    for index, mine in enumerate(parts):
        for depth in range(1, len(mine) + 1):
            tail = mine[-depth:]
            if not any(other[-depth:] == tail for i, other in enumerate(parts) if i != index):
                break
        names.append(os.sep.join(tail) if depth < len(mine) else paths[index])
    return names


class FiltersBar(QWidget):
    filter_changed = Signal()
    sort_changed = Signal(int)  # index into SORTS
    cell_changed = Signal(int)  # thumbnail side in points

    def __init__(self, cell: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.sort = QComboBox(self)
        self.sort.addItems([f"Sort: {s}" for s in SORTS])
        self.sort.setToolTip("Order of the results")
        self.folder = QComboBox(self)
        self.folder.addItem("All folders", "")
        self.folder.setToolTip("Only photos in this folder")
        self.folder.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.folder.setMinimumContentsLength(12)
        self.kind = QComboBox(self)
        for label, kind in (("Photos and videos", ""), ("Photos", "photo"), ("RAW", "raw"), ("Videos", "video")):
            self.kind.addItem(label, kind)
        self.kind.setToolTip("Only photos (a RAW developed beside them included), RAW files, or videos")
        self.after = QLineEdit(self)
        self.after.setPlaceholderText("from (YYYY-MM-DD)")
        self.after.setToolTip("Only photos taken in or after this year, month or day")
        self.before = QLineEdit(self)
        self.before.setPlaceholderText("to (YYYY-MM-DD)")
        self.before.setToolTip("Only photos taken in or before this year, month or day")
        for edit in (self.after, self.before):
            edit.setMaximumWidth(140)
        self.header = ElidedLabel("", self)
        self.cell = QSlider(Qt.Orientation.Horizontal, self)
        self.cell.setRange(MIN_CELL, MAX_CELL)
        self.cell.setValue(cell)
        self.cell.setMinimumWidth(80)
        self.cell.setMaximumWidth(160)
        self.cell.setToolTip("Thumbnail size")
        self.cell.setAccessibleName("thumbnail size")
        for widget in (self.sort, self.folder, self.kind, self.after, self.before):
            row.addWidget(widget)
        row.addWidget(self.header, 1)
        row.addWidget(QLabel("Size", self))
        row.addWidget(self.cell)
        self.sort.currentIndexChanged.connect(self.sort_changed.emit)
        self.folder.currentIndexChanged.connect(lambda _: self.filter_changed.emit())
        self.kind.currentIndexChanged.connect(lambda _: self.filter_changed.emit())
        self.after.editingFinished.connect(self.filter_changed.emit)
        self.before.editingFinished.connect(self.filter_changed.emit)
        self.cell.valueChanged.connect(self.cell_changed.emit)

    def current_filter(self) -> SearchFilter:
        folder = str(self.folder.currentData() or "")
        after, before = self.after.text().strip() or None, self.before.text().strip() or None
        kind = str(self.kind.currentData() or "")
        if not (folder or after or before or kind):
            return EVERYWHERE
        return SearchFilter((folder,) if folder else (), after, before, (kind,) if kind else ())

    def show_folders(self, paths: list[str]) -> None:
        current = self.folder.currentData()
        if [self.folder.itemData(i) for i in range(1, self.folder.count())] == paths:
            return
        self.folder.blockSignals(True)
        self.folder.clear()
        self.folder.addItem("All folders", "")
        for path, name in zip(paths, short_names(paths), strict=True):
            self.folder.addItem(name, path)
            self.folder.setItemData(self.folder.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        self.folder.setCurrentIndex(max(0, self.folder.findData(current)))
        self.folder.blockSignals(False)

    def show_header(self, text: str) -> None:
        self.header.setText(text)
