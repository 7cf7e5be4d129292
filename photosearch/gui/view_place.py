"""Where the user is in the grid — the photo at the top, the chosen one, the selection — kept
across a change of the rows under it (new results for the same query, another sort order), so
the view follows the photos, not the pixel offset."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QAbstractItemView

from .grid import ResultsGrid
from .results_model import ResultsModel


@dataclass(frozen=True)
class ViewPlace:
    top: int | None  # photo id of the first row in view
    current: int | None  # photo id of the current (chosen) row
    selected: frozenset[int]


def remember(grid: ResultsGrid, model: ResultsModel) -> ViewPlace:
    rows = model.rowCount()
    visible = grid.visible_rows()
    top = model.photo_id(visible.start) if len(visible) and visible.start < rows else None
    current = grid.currentIndex().row()
    selected = frozenset(model.photo_id(i.row()) for i in grid.selectionModel().selectedIndexes() if i.row() < rows)
    return ViewPlace(top, model.photo_id(current) if 0 <= current < rows else None, selected)


def restore(grid: ResultsGrid, model: ResultsModel, place: ViewPlace, keep_current_in_view: bool = False) -> None:
    """Select and choose the same photos again, and scroll the same photo to the top (or, with
    `keep_current_in_view`, the chosen one: a re-sort moves every row)."""
    selection = grid.selectionModel()
    for photo in place.selected:
        row = model.row_of(photo)
        if row is not None:
            selection.select(model.index(row), selection.SelectionFlag.Select)
    if place.current is not None and (row := model.row_of(place.current)) is not None:
        selection.setCurrentIndex(model.index(row), selection.SelectionFlag.NoUpdate)
    anchor = place.current if keep_current_in_view and place.current is not None else place.top
    if anchor is not None and (row := model.row_of(anchor)) is not None:
        grid.doItemsLayout()  # the new rows' places, before scrolling to one of them
        grid.scrollTo(model.index(row), QAbstractItemView.ScrollHint.PositionAtTop)
