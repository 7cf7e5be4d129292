"""The window tells the truth: each defect an hour of use as a new user found, reproduced and held.

A real window (offscreen), a real worker and the tiny model, as in test_window.py; each test
drives what a user does and checks what the window then shows.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QSettings, Qt, QTimer, QUrl
from PySide6.QtWidgets import QApplication, QMessageBox
from window_helpers import OTHERS, RED_CIRCLE, drop_on, search_as_typed, settled, wait_for, write_photo

from photosearch.core.library import Library
from photosearch.gui.search_bar import ImageChip, SearchBar
from photosearch.gui.session import FIRST_PAGE, View
from photosearch.gui.window import MainWindow
from photosearch.records import WorkerState
from photosearch.worker.protocol import WorkerSettings

pytestmark = pytest.mark.usefixtures("tiny_model")


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("truth")
    for i in range(24):
        write_photo(root / "photos" / f"red-{i:02d}.jpg", RED_CIRCLE, seed=100 + i)
        write_photo(root / "photos" / f"other-{i:02d}.jpg", OTHERS[i % len(OTHERS)], seed=200 + i)
    write_photo(root / "second" / "red-second.jpg", RED_CIRCLE, seed=300)
    with Library(root / "library", model="tiny-shapes", threads=2) as library:
        library.add_folder(root / "photos")
        library.add_folder(root / "second")
        library.index()
    return root


@pytest.fixture(scope="module")
def window(space: Path, qapp: QApplication) -> Iterator[MainWindow]:
    store = QSettings(str(space / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(
        WorkerSettings(home=str(space / "library"), model="tiny-shapes", threads=2, quiet_s=0.2, settle_s=0.3), store
    )
    win.resize(700, 500)
    win.show()
    assert wait_for(qapp, lambda: win.status is not None and win.status.photos.indexed >= 49, 120), "no status"
    yield win
    win.close()
    qapp.processEvents()


def test_a_new_query_starts_at_the_top(qtbot: Any, window: MainWindow) -> None:
    """After End on one query, the next showed the bottom of its results (the worst matches)."""
    search_as_typed(qtbot, window, "a red circle")
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_End)
    assert window.grid.currentIndex().row() == window.model.rowCount() - 1, "End chose the last photo"
    assert window.grid.verticalScrollBar().value() > 0, "the grid scrolls here"
    search_as_typed(qtbot, window, "a green triangle")
    assert window.grid.verticalScrollBar().value() == 0
    assert window.session.k == FIRST_PAGE and "other-" in window.model.path(0)
    qtbot.keyClick(window.grid, Qt.Key.Key_Home)
    assert window.grid.currentIndex().row() == 0


def test_re_sorting_keeps_the_chosen_photo_in_view(qtbot: Any, window: MainWindow) -> None:
    search_as_typed(qtbot, window, "a red circle")
    last = window.model.rowCount() - 1
    window.grid.setCurrentIndex(window.model.index(last))
    chosen = window.model.photo_id(last)
    window.sort.setCurrentIndex(1)  # newest first
    row = window.grid.currentIndex().row()
    assert window.model.photo_id(row) == chosen, "the same photo is still the chosen one"
    assert row in window.grid.visible_rows(), "and it is in view"
    window.sort.setCurrentIndex(0)


def test_a_failed_search_shows_why_and_no_old_results(qtbot: Any, window: MainWindow) -> None:
    """A refused date kept the previous results in the grid under an error."""
    search_as_typed(qtbot, window, "a red circle")
    assert window.model.rowCount() > 0
    with qtbot.waitSignal(window.search_failed, timeout=30_000):
        window.filters.after.setText("last tuesday")
        window.filters.after.editingFinished.emit()
    assert window.model.rowCount() == 0 and window.session.view is View.FAILED
    assert "not a date" in window.filters.header.text()
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.filters.after.setText("")
        window.filters.after.editingFinished.emit()
    assert window.model.rowCount() > 0


def test_no_message_widens_the_window(qtbot: Any, window: MainWindow) -> None:
    """A one-line message once grew the window to 2,629 px on a 1,600 px screen."""
    before = window.width()
    long = "the model ViT-L-14 cannot be used: " + "weights file missing and the hub cannot be reached; " * 40
    window.show_notice(long)
    window.filters.show_header(long)
    window.status_area.show_state(long)
    qtbot.wait(50)
    assert window.width() == before
    assert window.notice.text() == " ".join(long.split()), "the whole text is kept for its tooltip"
    assert window.notice.toolTip(), "and shown on demand"


def test_a_dropped_file_that_is_not_a_photo_is_refused_with_a_reason(qtbot: Any, window: MainWindow, tmp_path: Path) -> None:
    window.search.clear_images(notify=False)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    for path, reason in ((notes, "is not a photo"), (empty, "is empty")):
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        drop_on(window, mime)
        assert window.search.images() == (), "no chip"
        assert reason in window.notice.text()


def test_remove_acts_only_on_the_chosen_folder_and_asks_first(qtbot: Any, window: MainWindow, space: Path) -> None:
    """With nothing selected, "Remove folder" removed the first folder, each click the next."""
    dialog = window.library_dialog
    window.refresh_status(counts_only=False)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.folders.rowCount() == 2, timeout=30_000)
    dialog.folders.clearSelection()
    assert not dialog.remove_button.isEnabled()
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    second = str(space / "second")
    row = next(r for r in range(2) if (item := dialog.folders.item(r, 0)) is not None and item.text() == second)
    dialog.folders.selectRow(row)
    assert dialog.remove_button.isEnabled()
    asked: list[str] = []

    def answer(choice: str) -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        asked.append(box.text())
        button = next(b for b in box.buttons() if b.text().replace("&", "") == choice)
        button.click()

    QTimer.singleShot(100, lambda: answer("Cancel"))
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert asked and second in asked[0] and "1 photos" in asked[0]
    qtbot.wait(500)
    assert window.status is not None and len(window.status.folders) == 2, "cancel removed nothing"
    QTimer.singleShot(100, lambda: answer("Remove"))
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.status is not None and [f.path for f in window.status.folders] == [str(space / "photos")], timeout=30_000
    )
    dialog.close()


def test_results_follow_the_library_without_moving_the_view(qtbot: Any, window: MainWindow, space: Path) -> None:
    """Photos added while a query is shown appear, deleted ones go, and the chosen photo stays chosen."""
    search_as_typed(qtbot, window, "a red circle")
    window.grid.setCurrentIndex(window.model.index(0))
    chosen = window.model.photo_id(0)
    count = window.model.rowCount()
    added = write_photo(space / "photos" / "red-arrived.jpg", RED_CIRCLE, seed=400)
    qtbot.waitUntil(lambda: str(added) in window.model.paths(), timeout=60_000)
    assert window.model.rowCount() == count + 1
    current = window.grid.currentIndex().row()
    assert window.model.photo_id(current) == chosen, "the chosen photo is still chosen"
    added.unlink()
    qtbot.waitUntil(lambda: str(added) not in window.model.paths(), timeout=60_000)
    assert window.model.rowCount() == count


def _worker(window: MainWindow) -> Any:
    return window.status.worker if window.status is not None else None


def test_pause_survives_a_worker_restart(qtbot: Any, window: MainWindow) -> None:
    """Indexing resumed after a restart while the button still showed paused."""
    window.status_area.pause_button.click()
    qtbot.waitUntil(
        lambda: window.status is not None and window.status.worker is not None and window.status.worker.paused, timeout=30_000
    )
    assert window.bridge.client is not None
    old = window.bridge.client.pid
    with qtbot.waitSignal(window.bridge.ready, timeout=120_000):
        window.bridge.client.kill()
    assert window.bridge.client.pid != old
    window.refresh_status()
    qtbot.waitUntil(
        lambda: (
            window.status is not None and window.status.worker is not None and window.status.worker.state is WorkerState.PAUSED
        ),
        timeout=30_000,
    )
    assert window.status_area.pause_button.isChecked() and window.state_label.text() == "Paused"
    window.status_area.pause_button.click()
    qtbot.waitUntil(
        lambda: window.status is not None and window.status.worker is not None and not window.status.worker.paused, timeout=30_000
    )
    qtbot.waitUntil(lambda: settled(window, lambda s: True), timeout=60_000)


def test_an_error_in_the_window_goes_to_the_log_and_a_notice_not_the_terminal(
    qtbot: Any, window: MainWindow, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    import sys
    import threading

    from PySide6.QtCore import qInstallMessageHandler

    from photosearch.gui import crash_log

    hooks = (sys.excepthook, threading.excepthook)
    crash_log.install(window.show_notice)
    try:

        def broken_slot() -> None:
            raise ValueError("a bug in a slot")

        QTimer.singleShot(0, broken_slot)
        qtbot.waitUntil(lambda: "a bug in a slot" in window.notice.text(), timeout=10_000)
    finally:
        sys.excepthook, threading.excepthook = hooks
        qInstallMessageHandler(None)
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)
    assert "Traceback" not in capfd.readouterr().err


def test_the_window_has_a_quit_action_on_the_platform_keys(qtbot: Any, space: Path, tmp_path: Path) -> None:
    """Ctrl+Q did nothing (no quit action at all); the Xvfb test presses it with real keys."""
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    other = MainWindow(
        WorkerSettings(home=str(space / "library-quit"), model="tiny-shapes", threads=1), store, start_worker=False
    )
    other.show()
    qtbot.waitExposed(other)
    (quit_action,) = [a for a in other.actions() if a.text() == "Quit"]
    assert "Ctrl+Q" in [keys.toString() for keys in quit_action.shortcuts()]
    quit_action.trigger()
    qtbot.waitUntil(lambda: not other.isVisible(), timeout=5_000)


def test_open_asks_before_opening_many_and_says_when_nothing_can_show_a_photo(
    qtbot: Any, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl+A then Open would have started a viewer per photo; a desktop without a viewer failed
    in silence. (The desktop itself is not under test: a stand-in records what it was asked.)"""
    from photosearch.gui import desktop

    opened: list[str] = []

    def no_viewer(path: str) -> bool:
        opened.append(path)
        return False

    monkeypatch.setattr(desktop, "open_file", no_viewer)
    search_as_typed(qtbot, window, "a red circle")
    QTimer.singleShot(100, lambda: _answer_box("No"))
    window.results_actions.open(list(range(8)))
    assert opened == [], "asked first, and the user said no"
    window.results_actions.open([0])
    assert opened == [window.model.path(0)]
    assert "No application here can show" in window.notice.text()
    assert QApplication.clipboard().text() == window.model.path(0), "its path is copied instead"


def _answer_box(choice: str) -> None:
    box = QApplication.activeModalWidget()
    assert isinstance(box, QMessageBox)
    next(b for b in box.buttons() if b.text().replace("&", "") == choice).click()


@pytest.mark.slow
def test_a_model_choice_that_fails_falls_back_and_an_import_goes_into_the_open_library(
    qtbot: Any, window: MainWindow, space: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Importing weights went into the default library, the window then asked its worker for a
    model it did not know, and the global model preference stuck every other library."""
    from photosearch.core.models.registry import TINY_MODEL_DIR
    from photosearch.gui import window as window_module

    window.apply_preferences(replace(window.preferences, model="ViT-B-32"))  # no weights here, offline
    qtbot.waitUntil(lambda: "cannot be used" in window.notice.text(), timeout=120_000)
    qtbot.waitUntil(lambda: window.status is not None and window.status.model == "tiny-shapes", timeout=120_000)
    assert window.preferences.model == "" and not window.store.contains("worker/model")

    weights = tmp_path / "mine.safetensors"
    shutil.copyfile(TINY_MODEL_DIR / "tiny-shapes.safetensors", weights)
    monkeypatch.setattr(window_module.QFileDialog, "getOpenFileName", lambda *_args, **_kw: (str(weights), ""))
    window.models.import_weights()
    qtbot.waitUntil(lambda: window.status is not None and window.status.model == "tiny-shapes-imported", timeout=180_000)
    assert (space / "library" / "models").is_dir() and any((space / "library" / "models").glob("tiny-shapes-imported*"))
    default_home = Path(os.environ["PHOTOSEARCH_HOME"])
    assert not any(default_home.glob("models/tiny-shapes-imported*")), "nothing went into the default library"
    window.apply_preferences(replace(window.preferences, model="tiny-shapes"))
    qtbot.waitUntil(lambda: window.status is not None and window.status.model == "tiny-shapes", timeout=120_000)


def test_a_library_that_goes_away_is_offline_and_never_made_anew(qtbot: Any, window: MainWindow, space: Path) -> None:
    """Deleting or unmounting the library folder while the window was open made a new, empty
    library at the same path (the first-run page); now the window says it is offline, nothing
    is written there, and it comes back with the folder."""
    home = space / "library"
    search_as_typed(qtbot, window, "a red circle")
    away = space / "library-unplugged"
    home.rename(away)
    try:
        qtbot.waitUntil(
            lambda: window.pages.currentWidget() is window.empty and "offline" in window.empty.title.text(), timeout=30_000
        )
        assert window.session.view is View.UNAVAILABLE and window.model.rowCount() == 0
        qtbot.wait(4000)  # the library is looked for again meanwhile
        assert not home.exists(), "nothing was made in its place"
    finally:
        away.rename(home)
    qtbot.waitUntil(lambda: window.session.view is View.RESULTS and window.model.rowCount() > 0, timeout=60_000)
    assert window.pages.currentWidget() is window.grid


def test_a_thumbnail_the_worker_makes_again_is_painted_at_once(qtbot: Any, window: MainWindow) -> None:
    """The worker remade a missing thumbnail, but the cell kept its placeholder until the size
    slider moved."""
    from photosearch.records import thumbnail_file

    search_as_typed(qtbot, window, "a red circle")
    photo = window.model.photo_id(0)
    qtbot.waitUntil(lambda: window.loader.pixmap(photo) is not None, timeout=30_000)
    Path(thumbnail_file(window.loader.folder, photo)).unlink()
    window.loader.refresh((photo,))  # as when the cache let it go: the next paint reads the file
    window.model.thumbnail_changed(photo)
    window.grid.viewport().repaint()
    qtbot.waitUntil(lambda: window.loader.is_absent(photo), timeout=30_000)
    qtbot.waitUntil(lambda: window.loader.pixmap(photo) is not None, timeout=60_000)  # no slider moved


def _window_on(home: Path, store_dir: Path) -> MainWindow:
    store = QSettings(str(store_dir / "settings.ini"), QSettings.Format.IniFormat)
    settings = WorkerSettings(home=str(home), model="tiny-shapes", threads=1, poll_s=0.5, search_only_ok=True)
    win = MainWindow(settings, store)
    win.show()
    return win


def test_a_second_process_writing_the_library_leaves_the_window_searching(qtbot: Any, space: Path, tmp_path: Path) -> None:
    """With `photosearch index` (or another window) writing the library, the window said
    "Starting…" for ever; now it searches, says it is read-only, and indexes once it can."""
    from photosearch.core.writer_lock import WriterLock

    home = tmp_path / "library"
    shutil.copytree(space / "library", home, ignore=shutil.ignore_patterns("writer.lock"))
    other = WriterLock(home / "writer.lock")
    other.acquire()  # another process is this library's writer
    window = _window_on(home, tmp_path)
    try:
        qtbot.waitUntil(lambda: "Read-only: searching only" in window.state_label.text(), timeout=120_000)
        assert len(search_as_typed(qtbot, window, "a red circle")) > 0, "it searches meanwhile"
        other.release()
        qtbot.waitUntil(
            lambda: _worker(window) is not None and _worker(window).state is not WorkerState.SEARCH_ONLY, timeout=60_000
        )
        assert "Read-only" not in window.state_label.text()
    finally:
        other.release()
        window.close()


def test_a_read_only_library_is_searched_said_so_and_written_again_when_it_can_be(
    qtbot: Any, space: Path, tmp_path: Path
) -> None:
    from conftest import small_disk

    with small_disk(tmp_path / "drive", "64m") as drive:
        home = drive / "library"
        shutil.copytree(space / "library", home, ignore=shutil.ignore_patterns("writer.lock"))
        subprocess.run(["mount", "-o", "remount,ro", str(drive)], check=True)  # a backup drive, read-only
        window = _window_on(home, tmp_path)
        try:
            qtbot.waitUntil(lambda: "Read-only: searching only" in window.state_label.text(), timeout=120_000)
            assert len(search_as_typed(qtbot, window, "a red circle")) > 0
            subprocess.run(["mount", "-o", "remount,rw", str(drive)], check=True)
            qtbot.waitUntil(
                lambda: _worker(window) is not None and _worker(window).state is not WorkerState.SEARCH_ONLY, timeout=60_000
            )
        finally:
            window.close()


def test_a_chip_never_moves_the_top_bar_and_a_heic_chip_has_a_picture(qtbot: Any, window: MainWindow, tmp_path: Path) -> None:
    window.search.clear_images(notify=False)
    qtbot.wait(50)
    before = window.search.height()
    heic = write_photo(tmp_path / "chip.heic", RED_CIRCLE, seed=500)
    window.search.add_image(str(heic), notify=False)
    qtbot.wait(50)
    (chip,) = window.search.findChildren(ImageChip)
    assert not chip.icon().isNull(), "Qt cannot read HEIC: the chip shows a picture's icon, not nothing"
    assert window.search.height() == before, "the top bar did not jump"
    window.search.clear_images(notify=False)


def test_a_new_search_field_shows_no_chip_before_the_event_loop_runs(qtbot: Any) -> None:
    """The chip that measures the field's height once showed as 'photo.jpg' in a window driven
    by processEvents (scripts, the gallery tool) until an event loop deleted it."""
    bar = SearchBar()
    qtbot.addWidget(bar)
    bar.show()
    QApplication.processEvents()
    assert bar.findChildren(ImageChip) == [] and bar.images() == ()


def test_a_web_picture_that_cannot_be_fetched_says_why_in_plain_words(qtbot: Any, window: MainWindow) -> None:
    """ "cannot fetch http://…: <urlopen error [Errno 111] Connection refused>" was urllib talking."""
    import http.server
    import socket
    import threading

    class Missing(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404, "Not Found")

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Missing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    try:
        window.stash.fetch(f"http://127.0.0.1:{server.server_address[1]}/gone.jpg")
        qtbot.waitUntil(lambda: "the site answered 404" in window.notice.text(), timeout=30_000)
        window.stash.fetch(f"http://127.0.0.1:{closed}/photo.jpg")
        qtbot.waitUntil(lambda: "cannot be reached" in window.notice.text(), timeout=30_000)
        assert "urlopen" not in window.notice.text() and "Errno" not in window.notice.text()
    finally:
        server.shutdown()
