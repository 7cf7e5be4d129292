"""The main window: search as you type over the worker, a thumbnail grid, drops, and the library.

Every exchange with the worker is a request id and a later signal, so the GUI thread never
waits: the newest search wins (older answers and "superseded" failures are dropped without a
word), and after the worker restarts the current query is sent again. Worker problems appear in
the status bar, never as a modal box.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QProcess, QSettings, Qt, QTimer, Signal
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
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QProgressBar,
    QSlider,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photosearch.durations import duration_text
from photosearch.places import demo_folder, demo_library
from photosearch.records import EVERYWHERE, LibraryStatus, Progress, SearchFilter, SearchResults, thumbnail_file
from photosearch.worker import protocol as p
from photosearch.worker.protocol import WorkerSettings

from . import desktop, drops
from .about import RESOURCES, AboutDialog
from .empty_state import EmptyState
from .grid import MAX_CELL, MIN_CELL, ResultsGrid
from .library_dialog import LibraryDialog
from .preview import PreviewDialog
from .results_model import SORTS, ResultsModel
from .search_bar import SearchBar
from .settings import Preferences, SettingsDialog
from .thumbnails import ThumbnailLoader

log = logging.getLogger(__name__)

FIRST_PAGE = 1000  # results asked for as the user types
MORE_FACTOR = 4  # scrolling near the end asks for this many times more…
MAX_RESULTS = 100_000  # …up to this many
STATUS_EVERY_MS = 2000
NOTICE_MS = 15_000
SEARCHING_NOTE_MS = 300  # a search slower than this says "Searching…"


def self_command(*args: str) -> tuple[str, list[str]]:
    """How to run this program's command line (a frozen app is its own executable)."""
    import sys

    if getattr(sys, "frozen", False):
        return sys.executable, list(args)
    return sys.executable, ["-m", "photosearch", *args]


STATE_TEXT = {"disk full": "Disk full: indexing paused"}  # worker states that need more than a word


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
        self.status: LibraryStatus | None = None
        self._search_id = 0
        self._status_id = 0
        self._download_id = 0
        self._excluded_id = 0
        self._answered_once = False
        self._model_message = ""  # why the last download failed, shown on the missing-model page
        self._k = FIRST_PAGE
        self._asked_more = False
        self._search_started = 0.0
        self._last_query: tuple[str, tuple[str, ...], SearchFilter] | None = None
        self._missing: set[int] = set()
        self._closing = False
        self._process: QProcess | None = None
        self._after_command: Callable[[], None] | None = None
        self._build()
        self._connect()
        geometry = store.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 760)
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
        self.about_button = self._tool_button("About photosearch, licences (F1)", QStyle.StandardPixmap.SP_MessageBoxInformation)
        top.addWidget(self.library_button)
        top.addWidget(self.settings_button)
        top.addWidget(self.about_button)
        layout.addLayout(top)

        filters = QHBoxLayout()
        self.sort = QComboBox(central)
        self.sort.addItems([f"Sort: {s}" for s in SORTS])
        self.sort.setToolTip("Order of the results")
        self.folder = QComboBox(central)
        self.folder.addItem("All folders", "")
        self.folder.setToolTip("Only photos in this folder")
        self.after = QLineEdit(central)
        self.after.setPlaceholderText("from (YYYY-MM-DD)")
        self.after.setToolTip("Only photos taken in or after this year, month or day")
        self.before = QLineEdit(central)
        self.before.setPlaceholderText("to (YYYY-MM-DD)")
        self.before.setToolTip("Only photos taken in or before this year, month or day")
        for edit in (self.after, self.before):
            edit.setMaximumWidth(140)
        self.cell = QSlider(Qt.Orientation.Horizontal, central)
        self.cell.setRange(MIN_CELL, MAX_CELL)
        self.cell.setValue(self.preferences.cell)
        self.cell.setMaximumWidth(160)
        self.cell.setToolTip("Thumbnail size")
        self.cell.setAccessibleName("thumbnail size")
        self.header = QLabel("", central)
        filters.addWidget(self.sort)
        filters.addWidget(self.folder)
        filters.addWidget(self.after)
        filters.addWidget(self.before)
        filters.addWidget(self.header, 1)
        filters.addWidget(QLabel("Size", central))
        filters.addWidget(self.cell)
        layout.addLayout(filters)

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

        bar = self.statusBar()
        self.state_label = QLabel("Starting the worker…", self)
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.pause_button = self._tool_button("Pause indexing", QStyle.StandardPixmap.SP_MediaPause)
        self.pause_button.setCheckable(True)
        self.notice = QLabel("", self)
        bar.addWidget(self.state_label)
        bar.addWidget(self.progress)
        bar.addWidget(self.pause_button)
        bar.addWidget(self.notice, 1)
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(lambda: self.notice.setText(""))
        self._slow_search = QTimer(self)
        self._slow_search.setSingleShot(True)
        self._slow_search.setInterval(SEARCHING_NOTE_MS)
        self._slow_search.timeout.connect(self._still_searching)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_EVERY_MS)
        self._status_timer.timeout.connect(self._poll_status)

        self.preview = PreviewDialog(self._step_preview, self)
        self.library_dialog = LibraryDialog(self)

        find = QAction("Find", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self._focus_search)
        self.addAction(find)
        about = QAction("About photosearch", self)
        about.setShortcut(QKeySequence.StandardKey.HelpContents)
        about.setMenuRole(QAction.MenuRole.AboutRole)
        about.triggered.connect(self.show_about)
        self.addAction(about)
        self.about_dialog: AboutDialog | None = None
        self._update_ratio()

    def _tool_button(self, tip: str, icon: QStyle.StandardPixmap) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(self.style().standardIcon(icon))
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        return button

    def _connect(self) -> None:
        bridge = self.bridge
        bridge.ready.connect(self._on_ready)
        bridge.answered.connect(self._on_answer)
        bridge.failed.connect(self._on_failed)
        bridge.progress.connect(self._on_progress)
        bridge.state.connect(self._on_state)
        bridge.folders_changed.connect(lambda *_: self.refresh_status())
        bridge.notice.connect(self.show_notice)
        bridge.exited.connect(self._on_exited)
        bridge.download.connect(self.empty.show_download)
        self.search.query_changed.connect(self._new_search)
        self.sort.currentIndexChanged.connect(lambda i: self.model.set_sort(SORTS[i]))
        self.folder.currentIndexChanged.connect(lambda _: self._new_search())
        self.after.editingFinished.connect(self._new_search)
        self.before.editingFinished.connect(self._new_search)
        self.cell.valueChanged.connect(self._set_cell)
        self.grid.activated_photo.connect(lambda row: desktop.open_file(self.model.path(row)))
        self.grid.preview_requested.connect(self._show_preview)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.grid.near_end.connect(self._more)
        self.grid.verticalScrollBar().valueChanged.connect(lambda _: self.loader.forget_pending())
        self.loader.missing.connect(self._thumbnail_missing)
        self.pause_button.toggled.connect(self._pause)
        self.library_button.clicked.connect(self._show_library)
        self.settings_button.clicked.connect(self._show_settings)
        self.about_button.clicked.connect(self.show_about)
        self.library_dialog.add_folder.connect(self.add_folder)
        self.library_dialog.remove_folder.connect(lambda path: self.bridge.send(p.RemoveFolder(path=path)))
        self.empty.add_folder.connect(self._pick_folder)
        self.empty.try_demo.connect(self.open_demo)
        self.empty.download.connect(self._download)
        self.empty.cancel_download.connect(lambda: self.bridge.send(p.CancelDownload()))
        self.empty.import_weights.connect(self._import_weights)
        self.stash.fetched.connect(self.search_similar)
        self.stash.failed.connect(self.show_notice)

    # -- the worker's answers ---------------------------------------------------------------

    def _on_ready(self, ready: p.Ready) -> None:
        self.loader.set_folder(ready.thumbnails)
        self.state_label.setText(f"Ready · {ready.model}")
        self._status_timer.start()
        self.refresh_status()
        if self._last_query is not None:  # after a restart: the current query again
            self._send_search()

    def refresh_status(self, counts_only: bool = True) -> None:
        """Ask for the library's status (`counts_only`: without the catalog check, for polling)."""
        if self.bridge.is_ready and not self._status_id:
            self._status_id = self.bridge.send(p.Status(counts_only=counts_only))

    def _poll_status(self) -> None:
        """Counts change while the worker indexes, or while the library dialog is watched."""
        if self.progress.isVisible() or self.library_dialog.isVisible():
            self.refresh_status()

    def _on_answer(self, request_id: int, value: Any) -> None:
        if request_id == self._search_id and isinstance(value, p.Results):
            self._show_results(value)
        elif request_id == self._status_id:
            self._status_id = 0
            if isinstance(value, LibraryStatus):
                self._show_status(value)
        elif request_id == self._download_id:
            self._download_id = 0
            self.empty.show_message("Model downloaded", "Loading it…")
            self.refresh_status()
        elif request_id == self._excluded_id:
            self._excluded_id = 0
            self.show_notice("Excluded folders updated")
            self.refresh_status()
            self._new_search()  # the results change with the library

    def _on_failed(self, request_id: int, message: str) -> None:
        if request_id == self._search_id:
            if "superseded" not in message:
                self._slow_search.stop()
                self.header.setText(message)
                self.search_failed.emit(message)
        elif request_id == self._status_id:
            self._status_id = 0
        elif request_id == self._download_id:
            self._download_id = 0
            model = self.status.model if self.status else "the model"
            self._model_message = message  # kept on the page through later status refreshes
            self.empty.show_missing_model(model, message)
            self.pages.setCurrentWidget(self.empty)
        else:
            self.show_notice(message)

    def _show_results(self, results: p.Results) -> None:
        self._slow_search.stop()
        self._answered_once = True
        hits: SearchResults = results.hits
        self.model.set_results(hits)
        self._asked_more = False
        elapsed = (time.perf_counter() - self._search_started) * 1000
        count = len(hits)
        more = "+" if count >= self._k and count < MAX_RESULTS else ""
        self.header.setText(f"{count}{more} photos · {elapsed:.0f} ms")
        if self.pages.currentWidget() is not self.grid and self.status is not None and self.status.folders:
            self.pages.setCurrentWidget(self.grid)
        self.results_shown.emit()

    def _show_status(self, status: LibraryStatus) -> None:
        first = self.status is None
        self.status = status
        self.library_dialog.show_status(status)
        self._update_folders(status)
        photos = status.photos
        searchable = f"{photos.indexed} photos searchable" + (f", {photos.pending} waiting" if photos.pending else "")
        self.state_label.setText(f"{searchable} · {status.model}")
        if not status.folders:
            self.empty.show_first_run()
            self.pages.setCurrentWidget(self.empty)
        elif status.model_weights != "present":
            if not self._download_id:  # while downloading, the page shows the download's progress
                self.empty.show_missing_model(status.model, self._model_message)
            self.pages.setCurrentWidget(self.empty)
        elif self.pages.currentWidget() is self.empty:
            self.pages.setCurrentWidget(self.grid)
            if first or not self._last_query:
                self.header.setText(f"Type to search {photos.indexed} photos, or drop a photo here")
        if photos.pending == 0:
            self.progress.setVisible(False)

    def _update_folders(self, status: LibraryStatus) -> None:
        current = self.folder.currentData()
        paths = [f.path for f in status.folders]
        if [self.folder.itemData(i) for i in range(1, self.folder.count())] == paths:
            return
        self.folder.blockSignals(True)
        self.folder.clear()
        self.folder.addItem("All folders", "")
        for path in paths:
            self.folder.addItem(os.path.basename(path) or path, path)
        self.folder.setCurrentIndex(max(0, self.folder.findData(current)))
        self.folder.blockSignals(False)

    def _on_progress(self, progress: Progress) -> None:
        if progress.total <= 0 or progress.done >= progress.total:
            self.progress.setVisible(False)
            return
        self.progress.setVisible(True)
        self.progress.setRange(0, progress.total)
        self.progress.setValue(progress.done)
        eta = f" · {duration_text(progress.eta_s)} left" if progress.eta_s is not None else ""
        self.progress.setFormat(f"{progress.done}/{progress.total}")
        self.progress.setToolTip(f"Indexing {progress.done} of {progress.total} photos at {progress.rate:.1f}/s{eta}")
        self.state_label.setText(f"Indexing {progress.done}/{progress.total} · {progress.rate:.1f}/s{eta}")

    def _on_state(self, state: str) -> None:
        if state in ("idle", "paused", "model unavailable", "loading model", "scanning", "disk full"):
            if state != "idle":
                self.state_label.setText(STATE_TEXT.get(state, state.capitalize()))
            self.refresh_status()

    def _on_exited(self, exited: p.WorkerExited) -> None:
        self._status_id = 0
        if exited.restarting:
            self.show_notice(f"{exited.message}; restarting it")
        else:
            self.state_label.setText("The worker stopped")
            self.show_notice(exited.message)

    def show_notice(self, message: str) -> None:
        self.notice.setText(message)
        self.notice.setToolTip(message)
        self._notice_timer.start(NOTICE_MS)

    # -- searching --------------------------------------------------------------------------

    def current_filter(self) -> SearchFilter:
        folder = str(self.folder.currentData() or "")
        after, before = self.after.text().strip() or None, self.before.text().strip() or None
        if not (folder or after or before):
            return EVERYWHERE
        return SearchFilter((folder,) if folder else (), after, before)

    def _new_search(self) -> None:
        text, images = self.search.text(), self.search.images()
        if not text and not images:
            self._last_query = None
            self._search_id = 0
            self.model.set_results(SearchResults())
            if self.status is not None:
                self.header.setText(f"Type to search {self.status.photos.indexed} photos, or drop a photo here")
            return
        self._k = FIRST_PAGE
        self._last_query = (text, images, self.current_filter())
        self._send_search()

    def _send_search(self) -> None:
        if self._last_query is None or not self.bridge.is_ready:
            return
        text, images, where = self._last_query
        self._search_started = time.perf_counter()
        self._search_id = self.bridge.send(p.Search(text=text, images=images, k=self._k, where=where))
        self._slow_search.start()

    def _still_searching(self) -> None:
        """A search that takes a while says so (the first one waits for the worker's model)."""
        if self._search_id:
            waiting = "" if self._answered_once else " (the first search waits for the model to load)"
            self.header.setText(f"Searching…{waiting}")

    def _more(self) -> None:
        if self._asked_more or self._last_query is None or len(self.model.results) < self._k or self._k >= MAX_RESULTS:
            return
        self._asked_more = True
        self._k = min(MAX_RESULTS, self._k * MORE_FACTOR)
        self._send_search()

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
        to a temporary file first. Returns whether anything was taken."""
        items = drops.what_was_dropped(mime)
        for item in items:
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
        return bool(items)

    def add_folder(self, path: str) -> None:
        self.bridge.send(p.AddFolder(path=path))
        self.show_notice(f"Adding {path}; its photos become searchable as they are indexed")

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.add_folder(folder)

    # -- acting on results --------------------------------------------------------------------

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
        menu = QMenu(self)
        menu.addAction("&Open", lambda: [desktop.open_file(path) for path in paths])
        menu.addAction("&Reveal in file manager", lambda: desktop.reveal(paths[0]))
        menu.addAction("&Preview", lambda: self._show_preview(rows[0]))
        menu.addSeparator()
        menu.addAction("&Copy", lambda: desktop.copy_files(paths))
        menu.addAction("Copy &path", lambda: desktop.copy_paths(paths))
        menu.addSeparator()
        menu.addAction("Find &similar", lambda: self.search.set_query("", (paths[0],)))
        menu.popup(self.grid.viewport().mapToGlobal(point))

    def _show_preview(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            hit = self.model.hit(row)
            self.preview.show_hit(hit, thumbnail_file(self.loader.folder, hit.id))

    def _step_preview(self, delta: int) -> None:
        row = self.grid.currentIndex().row() + delta
        if 0 <= row < self.model.rowCount():
            self.grid.setCurrentIndex(self.model.index(row))
            self._show_preview(row)

    def _thumbnail_missing(self, photo_id: int) -> None:
        """Ask the worker to make missing thumbnails again, in batches."""
        self._missing.add(photo_id)
        if len(self._missing) == 1:
            QTimer.singleShot(500, self._send_missing)

    def _send_missing(self) -> None:
        ids, self._missing = tuple(sorted(self._missing)), set()
        if ids:
            self.bridge.send(p.MakeThumbnails(photo_ids=ids))

    # -- library, settings, models ----------------------------------------------------------

    def _pause(self, paused: bool) -> None:
        self.bridge.send(p.Pause() if paused else p.Resume())
        self.pause_button.setToolTip("Resume indexing" if paused else "Pause indexing")
        self.pause_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay if paused else QStyle.StandardPixmap.SP_MediaPause)
        )

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
        models = self.bridge.ready_event.models if self.bridge.ready_event else ()
        excluded = self.status.excluded if self.status else ()
        dialog = SettingsDialog(self.preferences, list(models), excluded, self)
        if dialog.exec():
            self.apply_preferences(dialog.preferences())
            if dialog.excluded_folders() != excluded:
                self.set_excluded(dialog.excluded_folders())

    def set_excluded(self, paths: tuple[str, ...]) -> None:
        """Leave these folders out of the library (the worker rescans; their photos leave it)."""
        self._excluded_id = self.bridge.send(p.SetExcluded(paths=paths))
        self.show_notice("Updating the excluded folders; the library rescans them")

    def apply_preferences(self, preferences: Preferences) -> None:
        worker_part = (preferences.model, preferences.device, preferences.backend)
        restart = worker_part != (self.preferences.model, self.preferences.device, self.preferences.backend)
        self.preferences = preferences
        preferences.save(self.store)
        self.cell.setValue(preferences.cell)
        if restart:
            self.state_label.setText("Restarting the worker with the new settings…")
            self.bridge.restart(_with_preferences(self.bridge_settings, preferences))

    def _download(self) -> None:
        model = self.status.model if self.status else ""
        self._model_message = ""
        self._download_id = self.bridge.send(p.DownloadModel(name=model))

    def _import_weights(self) -> None:
        model = self.status.model if self.status else ""
        path, _ = QFileDialog.getOpenFileName(self, f"Weights file for {model}", "", "Weights (*.safetensors *.bin *.pt *.pth)")
        if not path or not model:
            return
        name = f"{model}-imported"
        self._run_command(["models", "import", path, "--arch", model, "--name", name], f"Importing {os.path.basename(path)}…")
        self._after_command = lambda: self.apply_preferences(replace(self.preferences, model=name))

    def open_demo(self) -> None:
        """Make the demo library (bundled tiny model, offline) and switch to it."""
        folder = demo_folder()
        home = demo_library(folder)
        self.empty.show_message("Preparing the demo library…", "Sample photos are written and indexed with the tiny model.")
        self.pages.setCurrentWidget(self.empty)
        demo = ["demo", "--folder", str(folder), "--library", str(home)]
        # the demo indexes as its library's writer: the worker (which may hold it) stops first
        self.bridge.stop(then=lambda: self._run_command(demo, "Preparing the demo library…"))

        def switch() -> None:
            settings = replace(self.bridge_settings, home=str(home), model=None)
            self.bridge_settings = settings
            self.store.setValue("library/home", str(home))
            self.status = None
            self.bridge.restart(settings)

        self._after_command = switch

    def _run_command(self, args: list[str], message: str) -> None:
        program, arguments = self_command(*args)
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.finished.connect(lambda code, _status: self._command_done(process, code))
        self._process = process
        self.show_notice(message)
        process.start(program, arguments)

    def _command_done(self, process: QProcess, code: int) -> None:
        output = bytes(process.readAll().data()).decode("utf-8", "replace").strip().splitlines()
        self._process = None
        process.deleteLater()
        if code != 0:
            self.show_notice(output[-1] if output else f"the command failed ({code})")
        after, self._after_command = self._after_command, None
        if after is not None and code == 0:
            after()
        elif after is not None and not self.bridge.client:
            self.bridge.start()

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
        self._status_timer.stop()
        self._notice_timer.stop()
        self._slow_search.stop()
        self.search.stop()
        self.preview.close()
        self.library_dialog.close()
        if self.about_dialog is not None:
            self.about_dialog.close()
        if self._process is not None:
            self._process.kill()
            self._process.waitForFinished(5000)
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
