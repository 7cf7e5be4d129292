"""The search session without Qt: what the grid shows and why, and which answer counts."""

from __future__ import annotations

from photosearch.gui.session import FIRST_PAGE, MAX_RESULTS, MORE_FACTOR, Query, SearchSession, View
from photosearch.records import SearchFilter, SearchHit, SearchResults


def _results(count: int) -> SearchResults:
    return SearchResults.of(SearchHit(f"/p/{i}.jpg", 1.0 - i / (count + 1), i + 1, None, 4, 3, 10) for i in range(count))


def test_the_newest_query_wins_and_older_answers_change_nothing() -> None:
    session = SearchSession()
    first = session.set_query(Query("a red circle"))
    second = session.set_query(Query("a blue square"))
    assert first is not None and second is not None and first.ticket != second.ticket
    assert session.view is View.SEARCHING
    assert not session.answered(first.ticket, _results(3)), "an answer to an older query is stale"
    assert session.view is View.SEARCHING and len(session.results) == 0
    assert session.answered(second.ticket, _results(2))
    assert session.view is View.RESULTS and len(session.results) == 2 and session.answered_once


def test_a_new_query_starts_from_the_first_page_with_nothing_of_the_old_one_shown() -> None:
    session = SearchSession()
    ask = session.set_query(Query("red"))
    assert ask is not None and ask.k == FIRST_PAGE
    session.answered(ask.ticket, _results(FIRST_PAGE))
    more = session.more()
    assert more is not None and more.k == FIRST_PAGE * MORE_FACTOR and more.refresh
    assert session.more() is None, "one request for more at a time"
    fresh = session.set_query(Query("blue"))
    assert fresh is not None and fresh.k == FIRST_PAGE and not fresh.refresh
    assert len(session.results) == 0 and session.view is View.SEARCHING


def test_more_is_asked_only_while_there_may_be_more() -> None:
    session = SearchSession()
    ask = session.set_query(Query("red"))
    assert ask is not None
    session.answered(ask.ticket, _results(10))  # fewer than asked for: that was all
    assert not session.more_may_follow and session.more() is None
    session.k = MAX_RESULTS
    assert session.more() is None


def test_a_failure_clears_the_results_and_says_why() -> None:
    session = SearchSession()
    ask = session.set_query(Query("red"))
    assert ask is not None
    session.answered(ask.ticket, _results(5))
    bad = session.set_query(Query("red", where=SearchFilter(after="last tuesday")))
    assert bad is not None
    assert session.failed(bad.ticket, "not a date: 'last tuesday'")
    assert session.view is View.FAILED and len(session.results) == 0 and "not a date" in session.reason
    assert not session.failed(ask.ticket, "late"), "a stale failure changes nothing"


def test_an_empty_query_shows_the_hint_and_drops_the_answer_on_its_way() -> None:
    session = SearchSession()
    ask = session.set_query(Query("red"))
    assert ask is not None
    assert session.set_query(Query("  ")) is None
    assert session.view is View.NO_QUERY
    assert not session.answered(ask.ticket, _results(3))
    assert session.view is View.NO_QUERY and len(session.results) == 0


def test_a_library_change_asks_the_same_query_again_in_place() -> None:
    session = SearchSession()
    ask = session.set_query(Query("red"))
    assert ask is not None
    session.answered(ask.ticket, _results(5))
    again = session.library_changed()
    assert again is not None and again.refresh and again.k == ask.k and again.query == ask.query
    assert session.view is View.RESULTS and len(session.results) == 5, "the view stays until the new answer"
    assert session.answered(again.ticket, _results(4)) and len(session.results) == 4
    assert SearchSession().library_changed() is None, "no query, nothing to ask"


def test_a_worker_that_cannot_search_is_shown_as_such_until_it_can() -> None:
    session = SearchSession()
    ask = session.set_query(Query("red"))
    assert ask is not None
    session.answered(ask.ticket, _results(5))
    session.unavailable("the model 'ViT-B-32' has no weights on this computer")
    assert session.view is View.UNAVAILABLE and len(session.results) == 0 and "no weights" in session.reason
    assert session.set_query(Query("blue")) is None and session.view is View.UNAVAILABLE
    back = session.worker_ready()
    assert back is not None and back.query == Query("blue") and session.view is View.SEARCHING
    assert session.answered(back.ticket, _results(2))


def test_after_a_worker_restart_the_query_is_asked_again() -> None:
    session = SearchSession()
    ask = session.set_query(Query("red"))
    assert ask is not None
    again = session.worker_ready()
    assert again is not None and again.query == ask.query and not session.answered(ask.ticket, _results(1))


def test_the_shown_query_entered_again_is_answered_afresh_in_place() -> None:
    session = SearchSession()
    ask = session.set_query(Query("red"))
    assert ask is not None
    assert session.set_query(Query("red")) is None, "already on its way"
    session.answered(ask.ticket, _results(5))
    again = session.set_query(Query("red"))
    assert again is not None and again.refresh and again.k == ask.k
    assert session.view is View.RESULTS and len(session.results) == 5, "the view stays until the new answer"
