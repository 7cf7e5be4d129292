"""The search on screen: sends the session's asks, shows its answers in the grid, and says in the
header and the window title what the grid shows and why.

The session (`session.SearchSession`) decides; this renders. New results for a new query start at
the top; new results for the shown query (the library changed, the worker restarted) replace the
old ones in place, keeping the photo at the top and the selection; re-sorting keeps the chosen
photo in view.
"""

from __future__ import annotations

import time
from dataclasses import replace

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QStackedWidget

from photosearch.records import LibraryStatus
from photosearch.worker import protocol as p

from . import view_place
from .bridge import WorkerBridge
from .filters_bar import FiltersBar
from .grid import ResultsGrid
from .results_model import SORTS, ResultsModel
from .search_bar import SearchBar
from .session import FIRST_PAGE, Ask, Query, SearchSession, View

SEARCHING_NOTE_MS = 300  # a search slower than this says "Searching…"
LIVE_RESULTS_MS = 1000  # the library changed: the shown query is answered again at most this often…
LIVE_LARGE_RESULTS_MS = 5000  # …or this often when it shows more than a first page (each answer is big)


class SearchView(QObject):
    results_shown = Signal()  # a search's results are in the grid (scripted runs wait on it)
    search_failed = Signal(str)
    title_changed = Signal(str)  # what the window's title says it shows
    stale = Signal()  # the library changed (debounced): counts shown elsewhere are stale too

    def __init__(
        self,
        bridge: WorkerBridge,
        search: SearchBar,
        filters: FiltersBar,
        grid: ResultsGrid,
        model: ResultsModel,
        pages: QStackedWidget,
    ) -> None:
        super().__init__(grid)
        self.session = SearchSession()
        self.bridge, self.search, self.filters, self.grid, self.model, self.pages = bridge, search, filters, grid, model, pages
        self.library: LibraryStatus | None = None  # the latest status: its photo count is the hint's
        self.fold = False  # a photo's copies and other forms folded into one cell (a preference)
        self._started = 0.0
        self._slow = _timer(self, SEARCHING_NOTE_MS, self._still_searching)
        self._live = _timer(self, LIVE_RESULTS_MS, self._answer_again)

    # -- what starts a search --------------------------------------------------------------------

    def new_search(self) -> None:
        """The search field or the filters changed."""
        ask = self.session.set_query(Query(self.search.text(), self.search.images(), self.filters.current_filter()))
        self._send(ask)
        if ask is None or not ask.refresh:
            self.render(new_query=True)

    def search_for(self, query: Query, k: int | None = None) -> None:
        """Show `query` (benchmarks ask for a given number of results at once)."""
        ask = self.session.set_query(query)
        if ask is not None and k is not None:
            self.session.k = k
            ask = replace(ask, k=k)
        self._send(ask)
        self.render(new_query=True)

    def worker_ready(self) -> None:
        """A worker (perhaps a new one) can search: the shown query is asked again."""
        self._send(self.session.worker_ready())

    def library_changed(self) -> None:
        """Photos came or went: the shown query is answered again, at most once a second."""
        if not self._live.isActive():
            self._live.start(LIVE_RESULTS_MS if self.session.k <= FIRST_PAGE else LIVE_LARGE_RESULTS_MS)

    def set_fold(self, fold: bool) -> None:
        """Fold duplicates in results, or not: the shown query is answered again the new way."""
        if fold != self.fold:
            self.fold = fold
            self.answer_again()

    def answer_again(self) -> None:
        """The library changed and the user is waiting for it (folders excluded): now."""
        self._live.stop()
        self._answer_again()

    def more(self) -> None:
        """Scrolled near the end: more results, if more may follow."""
        self._send(self.session.more())

    def unavailable(self, reason: str) -> None:
        """The worker cannot search (no model, library offline): the grid says so."""
        self.session.unavailable(reason)
        self.render()

    def sort(self, index: int) -> None:
        """Re-sorting keeps the chosen photo in view (and the selection), not the pixel offset."""
        place = view_place.remember(self.grid, self.model)
        self.model.set_sort(SORTS[index])
        view_place.restore(self.grid, self.model, place, keep_current_in_view=True)

    def stop(self) -> None:
        self._slow.stop()
        self._live.stop()

    # -- asking and answers ------------------------------------------------------------------

    def _answer_again(self) -> None:
        self.stale.emit()
        self._send(self.session.library_changed())

    def _send(self, ask: Ask | None) -> None:
        if ask is None or not self.bridge.is_ready:
            return
        self._started = time.perf_counter()
        query = ask.query
        self.bridge.request(
            p.Search(text=query.text, images=query.images, k=ask.k, where=query.where, fold=self.fold),
            lambda results: self._answered(ask, results),
            lambda reason: self._failed(ask, reason),
        )
        if not ask.refresh:
            self._slow.start()

    def _answered(self, ask: Ask, answer: p.Results) -> None:
        if not self.session.answered(ask.ticket, answer.hits):
            return
        self._slow.stop()
        self.render(keep_view=ask.refresh, elapsed_ms=(time.perf_counter() - self._started) * 1000)
        self.results_shown.emit()

    def _failed(self, ask: Ask, reason: str) -> None:
        if not self.session.failed(ask.ticket, reason):
            return
        self._slow.stop()
        self.render()
        self.search_failed.emit(reason)

    def _still_searching(self) -> None:
        """A search that takes a while says so (the first one waits for the worker's model)."""
        if self.session.view is View.SEARCHING:
            waiting = "" if self.session.answered_once else " (the first search waits for the model to load)"
            self.filters.show_header(f"Searching…{waiting}")

    # -- showing -------------------------------------------------------------------------------

    def render(self, new_query: bool = False, keep_view: bool = False, elapsed_ms: float | None = None) -> None:
        """Show what the session says the grid shows, and say why in the header."""
        session = self.session
        if session.results is not self.model.results:  # only new results reset the grid
            if keep_view:
                place = view_place.remember(self.grid, self.model)
                self.model.set_results(session.results)
                view_place.restore(self.grid, self.model, place)
            else:
                self.model.set_results(session.results)
        if new_query:
            self.grid.scrollToTop()
        view = session.view
        count = len(session.results)
        self.title_changed.emit(self._title(view, count))
        if not new_query and view is View.RESULTS and not keep_view and count and not self.grid.currentIndex().isValid():
            self.grid.selectionModel().setCurrentIndex(self.model.index(0), self.grid.selectionModel().SelectionFlag.NoUpdate)
        if view is View.RESULTS:
            more = "+" if session.more_may_follow else ""
            timing = f" · {elapsed_ms:.0f} ms" if elapsed_ms is not None else ""
            self.filters.show_header(f"{count}{more} photos{timing}")
            if self.pages.currentWidget() is not self.grid and self.library is not None and self.library.folders:
                self.pages.setCurrentWidget(self.grid)
        elif view is View.FAILED or view is View.UNAVAILABLE:
            self.filters.show_header(session.reason)
        elif view is View.NO_QUERY:
            library = self.library
            self.filters.show_header(f"Type to search {library.photos.indexed} photos, or drop a photo here" if library else "")

    def _title(self, view: View, count: int) -> str:
        """The window's title names what it shows (in the task bar, and to scripts)."""
        query = self.session.query
        if query is None or view is View.NO_QUERY:
            return "photosearch"
        named = query.text.strip() or ("a photo" if len(query.images) == 1 else f"{len(query.images)} photos")
        shown = {View.RESULTS: f"{count} photos", View.SEARCHING: "searching…"}.get(view, self.session.reason)
        return f"{named} · {shown} — photosearch"


def _timer(parent: QObject, ms: int, slot: object) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(ms)
    timer.timeout.connect(slot)
    return timer
