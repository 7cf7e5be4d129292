"""The main window: an assembly of rooms, each with one job.

- `search_view.SearchView` sends the search session's asks and shows its answers (the session,
  without Qt, owns what the grid shows and why);
- `bridge.WorkerBridge` carries commands to the worker and answers back (never blocking);
- `filters_bar`, `status_area`, `search_bar`, `grid`, `empty_state`: what the user sees;
- `model_actions.ModelActions`: a model that cannot be used, its download and import;
- `library_actions`: the demo library and imports, as child processes; `drops.DropStash`: drops.

What stays here: building and wiring them, the library's status shared among them, the dialogs,
and closing in order.

Worker problems appear in the status bar, never as a modal box; no message can widen the window.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photosearch.records import FolderChange, LibraryStatus, SearchFilter, WorkerState
from photosearch.worker import protocol as p
from photosearch.worker.protocol import WorkerSettings

from . import drops, window_geometry
from .about import AboutDialog, app_icon
from .bridge import WorkerBridge
from .duplicates_window import DuplicatesWindow
from .empty_state import EmptyState
from .filters_bar import FiltersBar
from .grid import ResultsGrid
from .library_actions import CommandRunner, make_demo
from .library_dialog import LibraryDialog
from .model_actions import ModelActions
from .results_actions import ResultsActions
from .results_model import ResultsModel
from .search_bar import SearchBar
from .search_view import SearchView
from .session import Query
from .settings import Preferences, SettingsDialog
from .status_area import StatusArea
from .thumbnails import ThumbnailLoader

log = logging.getLogger(__name__)

__all__ = ["MainWindow"]

STATUS_EVERY_MS = 2000


class MainWindow(QMainWindow):
    results_shown = Signal()  # a search's results are in the grid (scripted runs wait on it)
    search_failed = Signal(str)
    library_switched = Signal(str)  # the window now shows the library at this path (the demo)

    def __init__(self, settings: WorkerSettings, store: QSettings, start_worker: bool = True) -> None:
        super().__init__()
        self.store = store
        self.preferences = Preferences.load(store)
        self.setWindowTitle("photosearch")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.bridge_settings = self.preferences.worker_settings(settings)
        self.bridge = WorkerBridge(self.bridge_settings, self)
        self.loader = ThumbnailLoader(self)
        self.model = ResultsModel(self.loader, self)
        self.stash = drops.DropStash(self)
        self.commands = CommandRunner(self)
        self.status: LibraryStatus | None = None
        self._status_asked = False
        self._closing = False
        self._build()
        self._connect()
        window_geometry.restore(self, store)
        if start_worker:
            self.bridge.start()

    # -- building -------------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 0)
        top = QHBoxLayout()
        self.search = SearchBar(central)
        top.addWidget(self.search, 1)
        self.library_button = self._tool_button("Library folders and skipped files", QStyle.StandardPixmap.SP_DirIcon)
        self.settings_button = self._tool_button("Settings", QStyle.StandardPixmap.SP_FileDialogDetailedView)
        self.settings_button.setIcon(QIcon.fromTheme("preferences-system", self.settings_button.icon()))
        self.about_button = self._tool_button("About photosearch, licences (F1)", QStyle.StandardPixmap.SP_MessageBoxInformation)
        self.duplicates_button = self._tool_button("Duplicates and bursts (Ctrl+D)", QStyle.StandardPixmap.SP_FileDialogListView)
        self.duplicates_button.setIcon(QIcon.fromTheme("edit-copy", self.duplicates_button.icon()))
        for button in (self.duplicates_button, self.library_button, self.settings_button, self.about_button):
            top.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        self.filters = FiltersBar(self.preferences.cell, central)
        layout.addWidget(self.filters)

        self.pages = QStackedWidget(central)
        self.empty = EmptyState(self.pages)
        self.grid = ResultsGrid(self.pages)
        self.grid.setModel(self.model)
        self.grid.set_cell(self.preferences.cell)
        self.grid.drop_handler = self._drop
        self.grid.accepts_drop = drops.accepts
        self.pages.addWidget(self.empty)
        self.pages.addWidget(self.grid)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.status_area = StatusArea(self.statusBar())
        self.results_actions = ResultsActions(self.grid, self.model, self.loader, self.search, self.bridge, self.show_notice)
        self.preview = self.results_actions.preview
        self.searching = SearchView(self.bridge, self.search, self.filters, self.grid, self.model, self.pages)
        self.session = self.searching.session
        self.searching.fold = self.preferences.fold_duplicates
        self.models = ModelActions(self.bridge, self.commands, self.empty, self.pages, self)

        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_EVERY_MS)
        self._status_timer.timeout.connect(self._poll_status)
        self.library_dialog = LibraryDialog(self)
        self.duplicates_window = DuplicatesWindow(self.bridge, self)
        self._action("Find", QKeySequence.StandardKey.Find, self._focus_search)
        duplicates = QAction("Duplicates", self)
        duplicates.setShortcut(QKeySequence("Ctrl+D"))
        duplicates.triggered.connect(self.show_duplicates)
        self.addAction(duplicates)
        about = self._action("About photosearch", QKeySequence.StandardKey.HelpContents, self.show_about)
        about.setMenuRole(QAction.MenuRole.AboutRole)
        quit_action = self._action("Quit", QKeySequence.StandardKey.Quit, self.close)
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.about_dialog: AboutDialog | None = None
        self._update_ratio()

    def _action(self, text: str, keys: QKeySequence.StandardKey, slot: Any) -> QAction:
        action = QAction(text, self)
        bindings = QKeySequence.keyBindings(keys)
        if not bindings and keys == QKeySequence.StandardKey.Quit:
            bindings = [QKeySequence("Ctrl+Q")]  # a desktop without a theme binds no quit keys
        action.setShortcuts(bindings)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _tool_button(self, tip: str, icon: QStyle.StandardPixmap) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(self.style().standardIcon(icon))
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        return button

    def _connect(self) -> None:
        bridge = self.bridge
        bridge.ready.connect(self._on_ready)
        bridge.progress.connect(self.status_area.show_progress)
        bridge.state.connect(self._on_state)
        bridge.folders_changed.connect(self._on_folder_changed)
        bridge.library_changed.connect(self.searching.library_changed)
        bridge.notice.connect(self.show_notice)
        bridge.exited.connect(self._on_exited)
        searching = self.searching
        searching.results_shown.connect(self.results_shown)
        searching.search_failed.connect(self.search_failed)
        searching.title_changed.connect(self.setWindowTitle)
        searching.stale.connect(self.refresh_status)
        self.search.query_changed.connect(searching.new_search)
        self.search.to_results.connect(self.grid.setFocus)
        self.filters.filter_changed.connect(searching.new_search)
        self.filters.sort_changed.connect(searching.sort)
        self.filters.cell_changed.connect(self._set_cell)
        self.grid.near_end.connect(searching.more)
        self.grid.verticalScrollBar().valueChanged.connect(lambda _: self.loader.forget_pending())
        self.status_area.pause_toggled.connect(self.bridge.set_paused)
        self.library_button.clicked.connect(self._show_library)
        self.settings_button.clicked.connect(self._show_settings)
        self.about_button.clicked.connect(self.show_about)
        self.duplicates_button.clicked.connect(self.show_duplicates)
        self.duplicates_window.notice.connect(self.show_notice)
        self.library_dialog.add_folder.connect(self.add_folder)
        self.library_dialog.remove_folder.connect(self.remove_folder)
        self.empty.add_folder.connect(self._pick_folder)
        self.empty.try_demo.connect(self.open_demo)
        self.models.use_model.connect(lambda name: self.apply_preferences(replace(self.preferences, model=name)))
        self.models.notice.connect(self.show_notice)
        self.models.weights_arrived.connect(self.refresh_status)
        self.stash.photo.connect(self.search_similar)
        self.stash.folder_dropped.connect(self.add_folder)
        self.stash.notice.connect(self.show_notice)
        self.commands.notice.connect(lambda message: self.status_area.show_notice(message, lasting=self.commands.busy))

    # -- what tests and scripts look at -------------------------------------------------------

    @property
    def sort(self) -> Any:
        return self.filters.sort

    @property
    def state_label(self) -> QLabel:
        return self.status_area.state_label

    @property
    def notice(self) -> QLabel:
        return self.status_area.notice

    def current_filter(self) -> SearchFilter:
        return self.filters.current_filter()

    # -- the worker ---------------------------------------------------------------------------

    def _on_ready(self, ready: p.Ready) -> None:
        self.loader.set_folder(ready.thumbnails)
        self.status_area.set_paused(self.bridge.paused)
        if not self.bridge.paused:
            self.status_area.show_state(f"Ready · {ready.model}")
        self._status_timer.start()
        self._status_asked = False
        self.refresh_status()
        self.searching.worker_ready()

    def refresh_status(self, counts_only: bool = True) -> None:
        """Ask for the library's status (`counts_only`: without the catalog check, for polling)."""
        if self.bridge.is_ready and not self._status_asked:
            self._status_asked = self.bridge.request(
                p.Status(counts_only=counts_only), self._show_status, lambda _reason: self._status_done()
            )

    def _status_done(self) -> None:
        self._status_asked = False

    def _poll_status(self) -> None:
        """Counts change while the worker indexes, or while the library dialog is watched."""
        if self.status_area.progress.isVisible() or self.library_dialog.isVisible():
            self.refresh_status()

    def _show_status(self, status: LibraryStatus) -> None:
        """The library's status, shared by every room that shows part of it."""
        self._status_asked = False
        self.status = status
        self.searching.library = status
        self.library_dialog.show_status(status)
        self.filters.show_folders([f.path for f in status.folders])
        self.status_area.show_library(status)
        if not status.folders:
            self.empty.show_first_run()
            self.pages.setCurrentWidget(self.empty)
        elif not self.models.can_search(status):
            self.searching.unavailable(f"the model {status.model} cannot be used")
        else:
            if self.pages.currentWidget() is self.empty:
                self.pages.setCurrentWidget(self.grid)
            self.searching.render()

    def _on_state(self, state: WorkerState) -> None:
        self.status_area.show_worker_state(state)
        if state in (WorkerState.IDLE, WorkerState.PAUSED, WorkerState.MODEL_UNAVAILABLE, WorkerState.SCANNING):
            self.refresh_status()

    def _on_folder_changed(self, path: str, change: FolderChange, note: str) -> None:
        self.refresh_status()
        if change in (FolderChange.OFFLINE, FolderChange.ONLINE):
            self.show_notice(f"Folder {change}: {path}" + (f" ({note})" if note else ""))

    def _on_exited(self, exited: p.WorkerExited) -> None:
        self._status_asked = False
        if exited.exitcode == p.OFFLINE_EXIT:  # nothing is made in its place; it is looked for again
            log.warning("%s", exited.message)
            self.status_area.show_state("Library offline: it is used again as soon as it is back")
            self.searching.unavailable(exited.message)
            self.empty.show_message("The library is offline", f"{exited.message}. It is used again as soon as it is back.")
            self.pages.setCurrentWidget(self.empty)
            return
        if exited.restarting:
            log.warning("the worker stopped (%s); restarting it", exited.message)
            self.show_notice("The background indexer stopped unexpectedly; it is starting again (your library is safe)")
        else:
            log.error("the worker stopped for good: %s", exited.message)
            self.status_area.show_state("The worker stopped")
            self.show_notice(exited.message)

    def show_notice(self, message: str) -> None:
        self.status_area.show_notice(message)

    # -- what starts a search ------------------------------------------------------------------

    def search_for(self, query: Query, k: int | None = None) -> None:
        """Show `query` (benchmarks ask for a given number of results at once)."""
        self.searching.search_for(query, k)

    def take_over_launch(self, images: list[str], query: str | None) -> None:
        """A second launch on this library ("Open with", the icon again): its photos and words
        become the search here, and this window comes to the front."""
        if self._closing:
            return
        if images:
            self.search.set_query(query or "", tuple(images))
        elif query:
            self.search.set_query(query)
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.show()
        self.raise_()
        self.activateWindow()

    def run_query(self, text: str) -> None:
        """Words typed into the search field, beside any photos already there (a combined query)."""
        self.search.set_query(text, self.search.images())

    def search_similar(self, path: str) -> None:
        """A dropped photo (or `--similar`): it becomes a chip, alone or with the typed words."""
        self.search.add_image(path)

    # -- drops --------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if drops.accepts(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if drops.accepts(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        if self._drop(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()

    def _drop(self, event: QDropEvent) -> bool:
        try:
            return self.stash.take(event.mimeData())
        except Exception as exc:  # an exception escaping a Qt event handler can take the process down
            log.exception("handling a drop failed")
            self.show_notice(f"could not use what was dropped: {exc}")
            return False

    def add_folder(self, path: str) -> None:
        self.bridge.send(p.AddFolder(path=path))
        self.show_notice(f"Adding {path}; its photos become searchable as they are indexed")

    def remove_folder(self, path: str) -> None:
        self.bridge.request(p.RemoveFolder(path=path), lambda removed: self.show_notice(f"Removed {path} ({removed} photos)"))

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.add_folder(folder)

    # -- acting on results --------------------------------------------------------------------

    def selected_rows(self) -> list[int]:
        return self.results_actions.selected_rows()

    # -- library, settings, models ----------------------------------------------------------

    def _show_library(self) -> None:
        self.refresh_status(counts_only=False)
        self.library_dialog.show()
        self.library_dialog.raise_()

    def show_duplicates(self) -> None:
        ready = self.bridge.ready_event
        self.duplicates_window.open_for(ready.thumbnails if ready is not None else "")

    def show_about(self) -> None:
        if self.about_dialog is None:
            self.about_dialog = AboutDialog(self)
        self.about_dialog.show()
        self.about_dialog.raise_()

    def _show_settings(self) -> None:
        ready = self.bridge.ready_event
        excluded = self.status.excluded if self.status else ()
        dialog = SettingsDialog(
            self.preferences,
            list(ready.models) if ready else [],
            excluded,
            self,
            without_weights=ready.without_weights if ready else (),
            gpu=ready.gpu if ready else True,
        )
        if dialog.exec():
            self.apply_preferences(dialog.preferences())
            if dialog.excluded_folders() != excluded:
                self.set_excluded(dialog.excluded_folders())

    def set_excluded(self, paths: tuple[str, ...]) -> None:
        """Leave these folders out of the library (the worker rescans; their photos leave it)."""
        self.bridge.request(p.SetExcluded(paths=paths), lambda _: self._excluded_updated())
        self.show_notice("Updating the excluded folders; the library rescans them")

    def _excluded_updated(self) -> None:
        self.show_notice("Excluded folders updated")
        self.searching.answer_again()

    def apply_preferences(self, preferences: Preferences) -> None:
        worker_part = (preferences.model, preferences.device, preferences.backend)
        restart = worker_part != (self.preferences.model, self.preferences.device, self.preferences.backend)
        if preferences.model != self.preferences.model:
            self.models.chose(preferences.model)
        self.preferences = preferences
        preferences.save(self.store)
        self.filters.cell.setValue(preferences.cell)
        self.searching.set_fold(preferences.fold_duplicates)
        if restart:
            self.status_area.show_state("Restarting the worker with the new settings…")
            self.bridge.restart(preferences.worker_settings(self.bridge_settings))

    def open_demo(self) -> None:
        """Make the demo library (bundled tiny model, offline) and switch to it."""
        self.empty.show_message("Preparing the demo library…", "Sample photos are written and indexed with the tiny model.")
        self.pages.setCurrentWidget(self.empty)
        make_demo(self.commands, self.bridge, self._demo_made)

    def _demo_made(self, home: Path | None, why: str) -> None:
        if home is None:
            self.show_notice(why)
            self.bridge.start()
            return
        self.bridge_settings = replace(self.bridge_settings, home=str(home), model=None)
        self.store.setValue("library/home", str(home))
        self.status = None
        self.bridge.restart(self.bridge_settings)
        self.library_switched.emit(str(home))

    # -- window ---------------------------------------------------------------------------------

    def _focus_search(self) -> None:
        self.search.edit.setFocus()
        self.search.edit.selectAll()

    def _set_cell(self, side: int) -> None:
        self.preferences.cell = side
        self.grid.set_cell(side)
        self._update_ratio()

    def _update_ratio(self) -> None:
        self.loader.set_cell(self.grid.delegate.side, self.devicePixelRatioF())

    def changeEvent(self, event: Any) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.DevicePixelRatioChange:
            self._update_ratio()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing:
            event.accept()
            return
        self._closing = True
        # later launches no longer come here (they would be lost with this window): the next one
        # opens its own, whose worker searches until this one's has finished and then indexes
        from .single_instance import InstanceServer

        for server in self.findChildren(InstanceServer):
            server.close()
        window_geometry.save(self, self.store)
        self.preferences.save(self.store)
        self._status_timer.stop()
        self.searching.stop()
        self.status_area.stop()
        self.search.stop()
        self.preview.close()
        self.library_dialog.close()
        if self.about_dialog is not None:
            self.about_dialog.close()
        self.commands.stop()
        self.hide()
        self.loader.close()
        self.bridge.shutdown()
        self.stash.close()
        event.accept()
