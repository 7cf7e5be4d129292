"""What a user does with results: open, reveal, preview, copy, find similar; and keeping their
thumbnails current (missing ones asked for, remade ones painted again)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMenu, QMessageBox

from photosearch.durations import duration_text
from photosearch.records import thumbnail_file
from photosearch.worker import protocol as p

from . import desktop
from .bridge import WorkerBridge
from .grid import ResultsGrid
from .preview import PreviewDialog
from .results_model import ResultsModel
from .search_bar import SearchBar
from .thumbnails import ThumbnailLoader

OPEN_WITHOUT_ASKING = 5  # photos opened at once before the user is asked


class ResultsActions(QObject):
    def __init__(
        self,
        grid: ResultsGrid,
        model: ResultsModel,
        loader: ThumbnailLoader,
        search: SearchBar,
        bridge: WorkerBridge,
        notice: Callable[[str], None],
    ) -> None:
        super().__init__(grid)
        self.grid, self.model, self.loader, self.search, self.bridge = grid, model, loader, search, bridge
        self.show_notice = notice
        self.preview = PreviewDialog(self._step_preview, grid.window())
        self._missing: set[int] = set()
        grid.activated_photo.connect(lambda row: self.open([row]))
        grid.preview_requested.connect(self.show_preview)
        grid.customContextMenuRequested.connect(self._context_menu)
        loader.missing.connect(self._thumbnail_missing)
        bridge.thumbnails_made.connect(self._thumbnails_made)

    def selected_rows(self) -> list[int]:
        return sorted(index.row() for index in self.grid.selectionModel().selectedIndexes())

    def _context_menu(self, point: Any) -> None:
        index = self.grid.indexAt(point)
        if not index.isValid():
            return
        if not self.grid.selectionModel().isSelected(index):
            self.grid.setCurrentIndex(index)
        rows = self.selected_rows() or [index.row()]
        paths = [self.model.path(r) for r in rows]
        files = [path for r in rows for path in self.model.files(r)]
        menu = QMenu(self.grid)
        menu.addAction("&Open", lambda: self.open(rows))
        menu.addAction("&Reveal in file manager", lambda: self._desktop(desktop.reveal, paths[0]))
        menu.addAction("Pre&view", lambda: self.show_preview(rows[0]))
        menu.addSeparator()
        menu.addAction("&Copy", lambda: desktop.copy_files(files))
        menu.addAction("Copy &path", lambda: desktop.copy_paths(files))
        menu.addSeparator()
        menu.addAction("Find &similar", lambda: self.search.set_query("", (paths[0],)))
        menu.popup(self.grid.viewport().mapToGlobal(point))

    def open(self, rows: list[int]) -> None:
        """Open photos in the system's viewer; more than a handful only when the user says so."""
        rows = [r for r in rows if 0 <= r < self.model.rowCount()]
        paths = [self.model.path(r) for r in rows]
        if len(paths) > OPEN_WITHOUT_ASKING:
            answer = QMessageBox.question(
                self.grid.window(),
                "Open photos",
                f"Open {len(paths)} photos, each in its own viewer window?",
                defaultButton=QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        for row, path in zip(rows, paths, strict=True):
            at = self.model.hit(row).at
            if at is not None and at > 0 and self._open_at(path, at):
                continue
            if not self._desktop(desktop.open_file, path):
                break

    def _open_at(self, path: str, at: float) -> bool:
        """A video from the moment that matched, where a player can be told so; else the user
        hears where to look."""
        if desktop.open_video_at(path, at):
            return True
        self.show_notice(f"{os.path.basename(path)} opens from the start: the match is at {duration_text(at)}")
        return False

    def _desktop(self, action: Any, path: str) -> bool:
        """Hand a photo to the desktop; when it has nothing to do that with, say so and offer its path."""
        if action(path):
            return True
        self.show_notice(f"No application here can show {os.path.basename(path)}: its path is copied, to paste elsewhere")
        desktop.copy_paths([path])
        return False

    def show_preview(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            hit = self.model.hit(row)
            self.preview.show_hit(hit, thumbnail_file(self.loader.folder, hit.id, hit.at))

    def _step_preview(self, delta: int) -> None:
        row = self.grid.currentIndex().row() + delta
        if 0 <= row < self.model.rowCount():
            self.grid.setCurrentIndex(self.model.index(row))
            self.show_preview(row)

    def _thumbnail_missing(self, photo_id: int) -> None:
        """Ask the worker to make missing thumbnails again, in batches."""
        self._missing.add(photo_id)
        if len(self._missing) == 1:
            QTimer.singleShot(500, self._send_missing)

    def _thumbnails_made(self, photo_ids: tuple[int, ...]) -> None:
        """Thumbnails the worker made again are painted now, not when the size next changes."""
        self.loader.refresh(photo_ids)
        for photo_id in photo_ids:
            self.model.thumbnail_changed(photo_id)

    def _send_missing(self) -> None:
        ids, self._missing = tuple(sorted(self._missing)), set()
        if ids:
            self.bridge.send(p.MakeThumbnails(photo_ids=ids))
