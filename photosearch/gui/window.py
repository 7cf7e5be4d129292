"""The main window: an assembly of rooms, each with one job.

- `session.SearchSession` owns what the grid shows and why (the query, paging, the newest search
  winning, failures, a model that cannot search); this window renders it and sends its asks;
- `bridge.WorkerBridge` carries commands to the worker and answers back (never blocking);
- `filters_bar`, `status_area`, `search_bar`, `grid`, `empty_state`: what the user sees;
- `library_actions.CommandRunner`: imports and the demo, as child processes.

Worker problems appear in the status bar, never as a modal box; no message can widen the window.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
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

from photosearch.places import demo_folder, demo_library
from photosearch.records import FolderChange, LibraryStatus, Progress, SearchFilter, WorkerState
from photosearch.worker import protocol as p
from photosearch.worker.protocol import WorkerSettings

from . import drops, view_place
from .about import RESOURCES, AboutDialog
from .empty_state import EmptyState
from .filters_bar import FiltersBar
from .grid import ResultsGrid
from .library_actions import CommandRunner, self_command
from .library_dialog import LibraryDialog
from .results_actions import ResultsActions
from .results_model import SORTS, ResultsModel
from .search_bar import SearchBar
from .session import FIRST_PAGE, Ask, Query, SearchSession, View
from .settings import Preferences, SettingsDialog
from .status_area import StatusArea
from .thumbnails import ThumbnailLoader

log = logging.getLogger(__name__)

__all__ = ["MainWindow", "app_icon", "self_command"]

STATUS_EVERY_MS = 2000
SEARCHING_NOTE_MS = 300  # a search slower than this says "Searching…"
LIVE_RESULTS_MS = 1000  # the library changed: the shown query is answered again at most this often…
LIVE_LARGE_RESULTS_MS = 5000  # …or this often when it shows more than a first page (each answer is big)


class MainWindow(QMainWindow):
    results_shown = Signal()  # a search's results are in the grid (scripted runs wait on it)
    search_failed = Signal(str)

    def __init__(self, settings: WorkerSettings, store: QSettings, start_worker: bool = True) -> None:
        super().__init__()
        self.store = store
        self.preferences = Preferences.load(store)
        self.setWindowTitle("photosearch")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.bridge_settings = _with_preferences(settings, self.preferences)
        from .bridge import WorkerBridge

        self.bridge = WorkerBridge(self.bridge_settings, self)
        self.loader = ThumbnailLoader(self)
        self.model = ResultsModel(self.loader, self)
        self.stash = drops.DropStash(self)
        self.commands = CommandRunner(self)
        self.session = SearchSession()
        self.status: LibraryStatus | None = None
        self._status_asked = False
        self._downloading = False
        self._model_message = ""  # why the last download failed, shown on the missing-model page
        self._chosen_model: str | None = None  # a model the user just chose, until it proves itself
        self._search_started = 0.0
        self._missing: set[int] = set()
        self._closing = False
        self._build()
        self._connect()
        self._restore_geometry()
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
        for button in (self.library_button, self.settings_button, self.about_button):
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

        self._slow_search = self._timer(SEARCHING_NOTE_MS, self._still_searching)
        self._status_timer = self._timer(STATUS_EVERY_MS, self._poll_status, single=False)
        self._live = self._timer(LIVE_RESULTS_MS, self._answer_again)
        self.library_dialog = LibraryDialog(self)
        self._action("Find", QKeySequence.StandardKey.Find, self._focus_search)
        about = self._action("About photosearch", QKeySequence.StandardKey.HelpContents, self.show_about)
        about.setMenuRole(QAction.MenuRole.AboutRole)
        quit_action = self._action("Quit", QKeySequence.StandardKey.Quit, self.close)
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.about_dialog: AboutDialog | None = None
        self._update_ratio()

    def _timer(self, ms: int, slot: Any, single: bool = True) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(single)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        return timer

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

    def _restore_geometry(self) -> None:
        geometry = self.store.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1100, 760)
        screen = self.screen().availableGeometry() if self.screen() else None
        if self.width() < 480 or self.height() < 360:  # saved at another scale: too small to use here
            self.resize(1100, 760)
        if screen is not None and (self.width() > screen.width() or self.height() > screen.height()):
            self.resize(min(self.width(), screen.width()), min(self.height(), screen.height()))

    def _connect(self) -> None:
        bridge = self.bridge
        bridge.ready.connect(self._on_ready)
        bridge.progress.connect(self._on_progress)
        bridge.state.connect(self._on_state)
        bridge.folders_changed.connect(self._on_folder_changed)
        bridge.library_changed.connect(self._library_changed)
        bridge.notice.connect(self.show_notice)
        bridge.exited.connect(self._on_exited)
        bridge.download.connect(self.empty.show_download)
        self.search.query_changed.connect(self._new_search)
        self.search.to_results.connect(self.grid.setFocus)
        self.filters.filter_changed.connect(self._new_search)
        self.filters.sort_changed.connect(self._sort)
        self.filters.cell_changed.connect(self._set_cell)
        self.grid.near_end.connect(self._more)
        self.grid.verticalScrollBar().valueChanged.connect(lambda _: self.loader.forget_pending())
        self.status_area.pause_toggled.connect(self.bridge.set_paused)
        self.library_button.clicked.connect(self._show_library)
        self.settings_button.clicked.connect(self._show_settings)
        self.about_button.clicked.connect(self.show_about)
        self.library_dialog.add_folder.connect(self.add_folder)
        self.library_dialog.remove_folder.connect(self.remove_folder)
        self.empty.add_folder.connect(self._pick_folder)
        self.empty.try_demo.connect(self.open_demo)
        self.empty.download.connect(self._download)
        self.empty.cancel_download.connect(lambda: self.bridge.send(p.CancelDownload()))
        self.empty.import_weights.connect(self._import_weights)
        self.stash.fetched.connect(self.search_similar)
        self.stash.failed.connect(self.show_notice)
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
        self._send(self.session.worker_ready())

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
        self._status_asked = False
        self.status = status
        self.library_dialog.show_status(status)
        self.filters.show_folders([f.path for f in status.folders])
        photos = status.photos
        worker = status.worker
        usable = status.model_weights == "present" and (worker is None or worker.state is not WorkerState.MODEL_UNAVAILABLE)
        if not self.bridge.paused:
            if usable and worker is not None and worker.state is WorkerState.SEARCH_ONLY:
                self.status_area.show_state(f"Read-only: searching only · {photos.indexed} photos · {status.model}")
            elif usable:
                waiting = f", {photos.pending} waiting" if photos.pending else ""
                self.status_area.show_state(f"{photos.indexed} photos searchable{waiting} · {status.model}")
            else:
                self.status_area.show_state(f"Searching is not possible: the model {status.model} cannot be used")
        if not status.folders:
            self.empty.show_first_run()
            self.pages.setCurrentWidget(self.empty)
        elif not usable:
            if self._chosen_model and self._chosen_model == status.model:
                self._fall_back_from_model(status.model)
                return
            if not self._downloading:  # while downloading, the page shows the download's progress
                self.empty.show_missing_model(status.model, self._model_message)
            self.session.unavailable(f"the model {status.model} cannot be used")
            self.pages.setCurrentWidget(self.empty)
        else:
            self._chosen_model = None  # it works: the choice stands (the library records it)
            if self.pages.currentWidget() is self.empty:
                self.pages.setCurrentWidget(self.grid)
            self._render()
        if photos.pending == 0:
            self.status_area.hide_progress()

    def _on_progress(self, progress: Progress) -> None:
        self.status_area.show_progress(progress)

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
            self.session.unavailable(exited.message)
            self._render()
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

    # -- searching: the session decides, the window renders -------------------------------------

    def _new_search(self) -> None:
        ask = self.session.set_query(Query(self.search.text(), self.search.images(), self.current_filter()))
        self._send(ask)
        if ask is None or not ask.refresh:
            self._render(new_query=True)

    def search_for(self, query: Query, k: int | None = None) -> None:
        """Show `query` (benchmarks ask for a given number of results at once)."""
        ask = self.session.set_query(query)
        if ask is not None and k is not None:
            self.session.k = k
            ask = replace(ask, k=k)
        self._send(ask)
        self._render(new_query=True)

    def _send(self, ask: Ask | None) -> None:
        if ask is None or not self.bridge.is_ready:
            return
        self._search_started = time.perf_counter()
        query = ask.query
        self.bridge.request(
            p.Search(text=query.text, images=query.images, k=ask.k, where=query.where),
            lambda results: self._answered(ask, results),
            lambda reason: self._failed(ask, reason),
        )
        if not ask.refresh:
            self._slow_search.start()

    def _answered(self, ask: Ask, answer: p.Results) -> None:
        if not self.session.answered(ask.ticket, answer.hits):
            return
        self._slow_search.stop()
        elapsed = (time.perf_counter() - self._search_started) * 1000
        self._render(keep_view=ask.refresh, elapsed_ms=elapsed)
        self.results_shown.emit()

    def _failed(self, ask: Ask, reason: str) -> None:
        if not self.session.failed(ask.ticket, reason):
            return
        self._slow_search.stop()
        self._render()
        self.search_failed.emit(reason)

    def _render(self, new_query: bool = False, keep_view: bool = False, elapsed_ms: float | None = None) -> None:
        """Show what the session says the grid shows, and say why in the header."""
        session = self.session
        if session.results is not self.model.results:  # only new results reset the grid
            if keep_view:
                self._replace_results_in_place()
            else:
                self.model.set_results(session.results)
        if new_query:
            self.grid.scrollToTop()
        view = session.view
        count = len(session.results)
        self._title(view, count)
        if new_query is False and view is View.RESULTS and not keep_view and count and not self.grid.currentIndex().isValid():
            self.grid.selectionModel().setCurrentIndex(self.model.index(0), self.grid.selectionModel().SelectionFlag.NoUpdate)
        if view is View.RESULTS:
            more = "+" if session.more_may_follow else ""
            timing = f" · {elapsed_ms:.0f} ms" if elapsed_ms is not None else ""
            self.filters.show_header(f"{count}{more} photos{timing}")
            if self.pages.currentWidget() is not self.grid and self.status is not None and self.status.folders:
                self.pages.setCurrentWidget(self.grid)
        elif view is View.FAILED or view is View.UNAVAILABLE:
            self.filters.show_header(session.reason)
        elif view is View.NO_QUERY:
            indexed = self.status.photos.indexed if self.status else 0
            self.filters.show_header(f"Type to search {indexed} photos, or drop a photo here" if self.status else "")

    def _title(self, view: View, count: int) -> None:
        """The window's title names what it shows (in the task bar, and to scripts)."""
        query = self.session.query
        if query is None or view is View.NO_QUERY:
            self.setWindowTitle("photosearch")
            return
        named = query.text.strip() or ("a photo" if len(query.images) == 1 else f"{len(query.images)} photos")
        shown = {View.RESULTS: f"{count} photos", View.SEARCHING: "searching…"}.get(view, self.session.reason)
        self.setWindowTitle(f"{named} · {shown} — photosearch")

    def _replace_results_in_place(self) -> None:
        """New results for the same query: the photo at the top and the selection stay put."""
        place = view_place.remember(self.grid, self.model)
        self.model.set_results(self.session.results)
        view_place.restore(self.grid, self.model, place)

    def _library_changed(self) -> None:
        if not self._live.isActive():  # at most once a second while photos keep coming
            self._live.start(LIVE_RESULTS_MS if self.session.k <= FIRST_PAGE else LIVE_LARGE_RESULTS_MS)

    def _answer_again(self) -> None:
        """The library changed (debounced): the shown query is answered again, in place."""
        self.refresh_status()
        self._send(self.session.library_changed())

    def _still_searching(self) -> None:
        """A search that takes a while says so (the first one waits for the worker's model)."""
        if self.session.view is View.SEARCHING:
            waiting = "" if self.session.answered_once else " (the first search waits for the model to load)"
            self.filters.show_header(f"Searching…{waiting}")

    def _more(self) -> None:
        self._send(self.session.more())

    def _sort(self, index: int) -> None:
        """Re-sorting keeps the chosen photo in view (and the selection), not the pixel offset."""
        place = view_place.remember(self.grid, self.model)
        self.model.set_sort(SORTS[index])
        view_place.restore(self.grid, self.model, place, keep_current_in_view=True)

    def take_over_launch(self, images: list[str], query: str | None) -> None:
        """A second launch on this library ("Open with", the icon again): its photos and words
        become the search here, and this window comes to the front."""
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
            return self.handle_drop(event.mimeData())
        except Exception as exc:  # an exception escaping a Qt event handler can take the process down
            log.exception("handling a drop failed")
            self.show_notice(f"could not use what was dropped: {exc}")
            return False

    def handle_drop(self, mime: Any) -> bool:
        """Image files → a similar search; folders → added; image data or a web picture → saved
        to a temporary file first; anything else is refused, saying why. Returns whether
        anything was taken."""
        items = drops.what_was_dropped(mime)
        taken = False
        for item in items:
            if item.kind == "refused":
                self.show_notice(item.value)
                continue
            taken = True
            if item.kind == "folder":
                self.add_folder(item.value)
            elif item.kind == "image":
                self.search_similar(item.value)
            elif item.kind == "url":
                self.show_notice(f"Fetching {item.value}…")
                self.stash.fetch(item.value)
            elif item.kind == "data":
                saved = self.stash.save_image_data(mime)
                if saved:
                    self.search_similar(saved)
        return taken

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
        self.refresh_status()
        self._send(self.session.library_changed())

    def apply_preferences(self, preferences: Preferences) -> None:
        worker_part = (preferences.model, preferences.device, preferences.backend)
        restart = worker_part != (self.preferences.model, self.preferences.device, self.preferences.backend)
        if preferences.model != self.preferences.model:
            self._chosen_model = preferences.model or None
        self.preferences = preferences
        preferences.save(self.store)
        self.filters.cell.setValue(preferences.cell)
        if restart:
            self.status_area.show_state("Restarting the worker with the new settings…")
            self.bridge.restart(_with_preferences(self.bridge_settings, preferences))

    def _fall_back_from_model(self, model: str) -> None:
        """A model the user chose cannot be used: the library keeps the one that works."""
        self._chosen_model = None
        why = self._model_message or "its weights are missing"
        self.show_notice(f"The model {model} cannot be used here ({why}); back to the library's model")
        self.apply_preferences(replace(self.preferences, model=""))

    def _download(self) -> None:
        model = self.status.model if self.status else ""
        self._model_message = ""
        self._downloading = self.bridge.request(p.DownloadModel(name=model), self._downloaded, self._download_failed)

    def _downloaded(self, _path: object) -> None:
        self._downloading = False
        self.empty.show_message("Model downloaded", "Loading it…")
        self.refresh_status()

    def _download_failed(self, reason: str) -> None:
        self._downloading = False
        model = self.status.model if self.status else "the model"
        self._model_message = reason  # kept on the page through later status refreshes
        self.empty.show_missing_model(model, reason)
        self.pages.setCurrentWidget(self.empty)

    def _import_weights(self) -> None:
        """Import a weights file into the library this window has open, then use it there."""
        model = self.status.model if self.status else ""
        path, _ = QFileDialog.getOpenFileName(self, f"Weights file for {model}", "", "Weights (*.safetensors *.bin *.pt *.pth)")
        if not path or not model or self.status is None:
            return
        name = f"{model}-imported"
        home = self.status.library
        args = ["models", "import", path, "--arch", model, "--name", name, "--library", home]

        def imported(succeeded: bool, message: str) -> None:
            if succeeded:
                self.show_notice(f"Imported {os.path.basename(path)} as {name}")
                self.apply_preferences(replace(self.preferences, model=name))
            else:
                self._model_message = message
                self.empty.show_missing_model(model, message)

        self.commands.run(args, f"Importing {os.path.basename(path)}…", imported)

    def open_demo(self) -> None:
        """Make the demo library (bundled tiny model, offline) and switch to it."""
        folder = demo_folder()
        home = demo_library(folder)
        self.empty.show_message("Preparing the demo library…", "Sample photos are written and indexed with the tiny model.")
        self.pages.setCurrentWidget(self.empty)
        demo = ["demo", "--folder", str(folder), "--library", str(home)]

        def made(succeeded: bool, message: str) -> None:
            if not succeeded:
                self.show_notice(message)
                self.bridge.start()
                return
            settings = replace(self.bridge_settings, home=str(home), model=None)
            self.bridge_settings = settings
            self.store.setValue("library/home", str(home))
            self.status = None
            self.bridge.restart(settings)

        # the demo indexes as its library's writer: the worker (which may hold it) stops first
        def make() -> None:
            self.commands.run(demo, "Preparing the demo library…", made)

        self.bridge.stop(then=make)

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
        if QGuiApplication.platformName() != "offscreen":  # a scripted check's 800×600 screen is no user's
            self.store.setValue("window/geometry", self.saveGeometry())
        self.preferences.save(self.store)
        for timer in (self._status_timer, self._slow_search, self._live):
            timer.stop()
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


def _with_preferences(settings: WorkerSettings, preferences: Preferences) -> WorkerSettings:
    device = None if preferences.device == "auto" else preferences.device
    backend = None if preferences.backend == "auto" else preferences.backend
    return replace(
        settings, model=preferences.model or settings.model, device=device or settings.device, backend=backend or settings.backend
    )


def app_icon() -> QIcon:
    icon_file = RESOURCES / "icons" / "photosearch.svg"
    return QIcon(str(icon_file)) if icon_file.is_file() else QIcon()
