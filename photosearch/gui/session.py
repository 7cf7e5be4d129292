"""The search session: what the grid shows and why, owned in one place, without Qt.

Everything that decides the grid's content lives here: the words and photos of the query, its
filter, how many results are asked for, which request is the current one (the newest search
wins; an older answer is dropped), and what the grid shows — nothing yet, a search under way,
results, a failure with its reason, results gone stale because the library changed, or a model
that cannot search. The window renders `view` and sends the `Ask`s this returns; it never
decides these things itself, so a new event (a library change, a worker restart, a new query,
a failed model) cannot leave the grid showing something no longer true.

Anchors: napari's Qt-free models, Anki's browser table state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from photosearch.records import EVERYWHERE, SearchFilter, SearchResults

FIRST_PAGE = 1000  # results asked for as the user types
MORE_FACTOR = 4  # scrolling near the end asks for this many times more…
MAX_RESULTS = 100_000  # …up to this many


class View(StrEnum):
    """What the grid shows."""

    NO_QUERY = "no query"  # the search field is empty: a hint, no results
    SEARCHING = "searching"  # a new query was sent; the previous query's results are gone
    RESULTS = "results"
    FAILED = "failed"  # the current query failed: `reason` says why, no results are shown
    UNAVAILABLE = "unavailable"  # the worker cannot search (no model, library offline): `reason`


@dataclass(frozen=True)
class Query:
    text: str
    images: tuple[str, ...] = ()
    where: SearchFilter = EVERYWHERE

    @property
    def empty(self) -> bool:
        return not self.text.strip() and not self.images


@dataclass(frozen=True)
class Ask:
    """A search to send: its query, how many results, and the ticket its answer must carry."""

    query: Query
    k: int
    ticket: int
    refresh: bool = False  # the same query asked again (library changed, worker restarted): keep the view


@dataclass
class SearchSession:
    query: Query | None = None
    results: SearchResults = field(default_factory=SearchResults)
    view: View = View.NO_QUERY
    reason: str = ""  # for FAILED and UNAVAILABLE
    k: int = FIRST_PAGE
    answered_once: bool = False  # some search was answered (the first waits for the model)
    _ticket: int = 0  # the newest ask's ticket; answers to any other are stale
    _asking_more: bool = False
    _stale: bool = False  # the library changed since the results were answered
    _unavailable: str = ""  # why the worker cannot search, while it cannot

    # -- the user ----------------------------------------------------------------------------

    def set_query(self, query: Query) -> Ask | None:
        """A new query (typed, dropped, filtered): it starts from the first page at the top.
        The query shown, entered again, is answered afresh in place (a refresh ask). None when
        there is nothing to ask (an empty query, one already on its way, or a worker that cannot
        search)."""
        if query == self.query and self.view is View.RESULTS:
            return self.library_changed()
        if query == self.query and self.view is View.SEARCHING:
            return None
        self.query = None if query.empty else query
        self.results = SearchResults()
        self.k = FIRST_PAGE
        self._asking_more = False
        self._stale = False
        if self.query is None:
            self._ticket += 1  # an answer still on its way is stale now
            self.view, self.reason = View.NO_QUERY, ""
            return None
        return self._ask()

    def more(self) -> Ask | None:
        """The user scrolled near the end of what is shown: ask for more, once at a time."""
        if (
            self.query is None
            or self.view is not View.RESULTS
            or self._asking_more
            or len(self.results) < self.k
            or self.k >= MAX_RESULTS
        ):
            return None
        self._asking_more = True
        self.k = min(MAX_RESULTS, self.k * MORE_FACTOR)
        self._ticket += 1
        return Ask(self.query, self.k, self._ticket, refresh=True)

    # -- the library and the worker ------------------------------------------------------------

    def library_changed(self) -> Ask | None:
        """Photos came, went or changed (or the same query was entered again): the current
        query is answered again, in place."""
        if self.query is None or self._unavailable:
            return None
        self._stale = True
        self._ticket += 1
        return Ask(self.query, self.k, self._ticket, refresh=True)

    def worker_ready(self) -> Ask | None:
        """A (new) worker can search: the current query is asked again."""
        self._unavailable = ""
        if self.query is None:
            return None
        if self.view is View.UNAVAILABLE:
            return self._ask()
        self._ticket += 1
        return Ask(self.query, self.k, self._ticket, refresh=True)

    def unavailable(self, reason: str) -> None:
        """The worker cannot search now (its model is missing, the library is offline): results
        are not shown as if they were current, and the reason is."""
        self._unavailable = reason
        self._ticket += 1
        if self.query is not None:
            self.results = SearchResults()
            self.view, self.reason = View.UNAVAILABLE, reason

    # -- answers ----------------------------------------------------------------------------------

    def answered(self, ticket: int, results: SearchResults) -> bool:
        """A search's results; False (nothing changes) when they answer an older ask."""
        if ticket != self._ticket or self.query is None:
            return False
        self.results = results
        self.view, self.reason = View.RESULTS, ""
        self.answered_once = True
        self._asking_more = False
        self._stale = False
        return True

    def failed(self, ticket: int, reason: str) -> bool:
        """A search failed: what was shown is no longer an answer to the query, so it goes."""
        if ticket != self._ticket or self.query is None:
            return False
        self.results = SearchResults()
        self.view, self.reason = View.FAILED, reason
        self._asking_more = False
        return True

    @property
    def more_may_follow(self) -> bool:
        """The results fill what was asked for: there may be more."""
        return len(self.results) >= self.k and self.k < MAX_RESULTS

    def is_current(self, ticket: int) -> bool:
        return ticket == self._ticket

    def _ask(self) -> Ask | None:
        self._ticket += 1
        assert self.query is not None
        if self._unavailable:
            self.view, self.reason = View.UNAVAILABLE, self._unavailable
            return None
        self.view, self.reason = View.SEARCHING, ""
        return Ask(self.query, self.k, self._ticket)
