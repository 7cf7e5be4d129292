"""The grid's model: a search's columns behind a list model whose row count lives in C++.

A Python `rowCount` is called hundreds of thousands of times per layout of 100,000 rows (a
quarter of a second, again on every resize); a `QStringListModel` subclass keeps the rows in
C++, so only `data` for painted cells reaches Python. `data` is O(1) and never touches disk:
thumbnails come from the loader's cache, or are requested from it and painted when they arrive.
"""

from __future__ import annotations

import math
import os
from typing import Any

from PySide6.QtCore import QMimeData, QModelIndex, QPersistentModelIndex, QStringListModel, Qt, QUrl

from photosearch.records import SearchHit, SearchResults

from .text import hit_text, media_label, taken_text
from .thumbnails import ThumbnailLoader

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
SCORE_ROLE = Qt.ItemDataRole.UserRole + 3
TAKEN_ROLE = Qt.ItemDataRole.UserRole + 4
FOLDED_ROLE = Qt.ItemDataRole.UserRole + 5  # how many results the cell stands for (duplicates folded)
MEDIA_ROLE = Qt.ItemDataRole.UserRole + 6  # (is a video, its corner label: a duration, "RAW", "LIVE"…)

Index = QModelIndex | QPersistentModelIndex

SORTS = ("relevance", "newest first", "oldest first")


class ResultsModel(QStringListModel):
    def __init__(self, loader: ThumbnailLoader, parent: Any = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.results = SearchResults()
        self.order: list[int] = []  # grid row → position in `results`
        self.sorting = SORTS[0]
        self._row_of_id: dict[int, int] = {}
        loader.loaded.connect(self._thumbnail_arrived)

    # -- contents -------------------------------------------------------------------------

    def set_results(self, results: SearchResults) -> None:
        self.results = results
        self._arrange()

    def set_sort(self, sort: str) -> None:
        if sort != self.sorting:
            self.sorting = sort
            self._arrange()

    def _arrange(self) -> None:
        count = len(self.results)
        if self.sorting == "relevance":
            self.order = list(range(count))
        else:
            taken = self.results.taken  # unknown dates (NaN) go last either way
            newest = self.sorting == "newest first"
            self.order = sorted(range(count), key=lambda i: (math.isnan(taken[i]), -taken[i] if newest else taken[i]))
        paths = self.results.paths
        ids = self.results.ids
        self._row_of_id = {ids[i]: row for row, i in enumerate(self.order)}
        self.setStringList([paths[i] for i in self.order])  # one reset; the rows live in C++

    def row_of(self, photo_id: int) -> int | None:
        """The grid row of a photo, if it is among the results."""
        return self._row_of_id.get(photo_id)

    def photo_id(self, row: int) -> int:
        return int(self.results.ids[self.order[row]])

    def hit(self, row: int) -> SearchHit:
        return self.results[self.order[row]]

    def path(self, row: int) -> str:
        return self.results.paths[self.order[row]]

    def at(self, position: int) -> float | None:
        """A video result's frame time (seconds), by position in `results`; None for a still."""
        at = float(self.results.at[position]) if len(self.results.at) else -1.0
        return None if at < 0 else at

    def thumbnail(self, position: int) -> Any:
        """The loader's pixmap for the result at `position` (a video's matching frame)."""
        return self.loader.pixmap(int(self.results.ids[position]), self.at(position))

    def files(self, row: int) -> list[str]:
        """Every file of a row's item: the shown one, then a RAW or a Live Photo's clip beside it."""
        return list(self.results.paths_of(self.order[row]))

    def paths(self, first: int = 0, count: int | None = None) -> list[str]:
        rows = self.order[first : None if count is None else first + count]
        return [self.results.paths[i] for i in rows]

    # -- Qt -------------------------------------------------------------------------------

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = index.row()
        if row >= len(self.order):
            return None
        at = self.order[row]
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnail(at)
        if role == Qt.ItemDataRole.DisplayRole:
            return os.path.basename(self.results.paths[at])
        if role == Qt.ItemDataRole.ToolTipRole:
            return hit_text(self.results[at])
        if role == PATH_ROLE:
            return self.results.paths[at]
        if role == ID_ROLE:
            return int(self.results.ids[at])
        if role == SCORE_ROLE:
            return float(self.results.scores[at])
        if role == TAKEN_ROLE:
            return taken_text(self.results.taken[at])
        if role == FOLDED_ROLE:
            return int(self.results.folded[at]) if len(self.results.folded) else 1
        if role == MEDIA_ROLE:
            hit = self.results[at]
            return (hit.kind == "video", media_label(hit))
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled  # drops land on the grid, never on a photo
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        return False  # results are not editable

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Any) -> QMimeData:
        """Dragged photos leave as file URLs (percent-encoded): file managers, mail and chat copy
        them, with the RAW file or Live Photo clip that belongs to each."""
        mime = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        mime.setUrls([QUrl.fromLocalFile(path) for r in rows for path in self.files(r)])
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction  # a drop elsewhere never moves or deletes a user's photo

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def thumbnail_changed(self, photo_id: int) -> None:
        """Its cell is painted again (asking the loader for its thumbnail)."""
        self._thumbnail_arrived(photo_id)

    def _thumbnail_arrived(self, photo_id: int) -> None:
        row = self._row_of_id.get(photo_id)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
