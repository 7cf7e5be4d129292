"""The window, offscreen, on a real worker with the tiny model: typing, the grid, drops, drag-out.

No mocks: a real library indexed by the worker, real Qt widgets, real drops (synthetic
QDropEvents delivered to the grid), a real loopback web server for a dropped address. The
module's window is shared (a worker start costs seconds); its teardown fails the run if a
worker process, a thread or a thread-pool task outlives it.
"""

from __future__ import annotations

import http.server
import multiprocessing
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPoint, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication
from window_helpers import (
    OTHERS,
    RED_ABOVE_BLUE,
    RED_CIRCLE,
    drop_on,
    indexed_library,
    names,
    open_window,
    search_as_typed,
    settled,
    write_photo,
)

from photosearch.core.library import Library
from photosearch.gui.results_model import ResultsModel
from photosearch.gui.window import MainWindow
from photosearch.records import SearchHit, SearchResults
from photosearch.worker.protocol import WorkerSettings

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("window")
    photos = root / "photos"
    write_photo(photos / "red 1.jpg", RED_CIRCLE, seed=1)
    write_photo(photos / "red-rotated.jpg", RED_CIRCLE, orientation=6, seed=2)
    write_photo(photos / "red-heic.heic", RED_CIRCLE, seed=3)
    write_photo(photos / "layout-exif6.jpg", RED_ABOVE_BLUE, orientation=6, seed=4)
    write_photo(photos / "vacances été" / "red 2.jpg", RED_CIRCLE, seed=5)
    for i, label in enumerate(OTHERS):
        write_photo(photos / f"other-{i}.jpg", label, seed=10 + i)
    return indexed_library(root, photos)


@pytest.fixture(scope="module")
def window(space: Path, qapp: QApplication) -> Iterator[MainWindow]:
    threads_before = {t.ident for t in threading.enumerate()}
    win = open_window(space, qapp, indexed=10)
    yield win
    win.close()
    qapp.processEvents()
    running = [t.objectName() or repr(t) for t in win.findChildren(QTimer) if t.isActive()]
    assert not running, f"timers outlived the window: {running}"
    assert not multiprocessing.active_children(), "a worker process outlived the window"
    leftover = [t.name for t in threading.enumerate() if t.ident not in threads_before and t.is_alive()]
    assert not leftover, f"threads outlived the window: {leftover}"
    assert not win.loader.busy(), "thumbnail loads outlived the window"


def test_typing_puts_red_circles_first_including_rotated_and_heic(qtbot: Any, window: MainWindow) -> None:
    found = names(search_as_typed(qtbot, window, "a red circle"))
    assert {"red 1.jpg", "red-rotated.jpg", "red-heic.heic", "red 2.jpg"} == set(found[:4])
    assert window.grid.isVisible() and window.pages.currentWidget() is window.grid


def test_newest_query_wins_and_negative_terms_work(qtbot: Any, window: MainWindow) -> None:
    window.search.edit.clear()
    for text in ("a blue square", "a green triangle", "a yellow square -green"):
        window.search.edit.setText(text)
        window.search._now()  # each a search of its own, sent before the previous is answered
    assert window.session.query is not None and window.session.query.text == "a yellow square -green"
    qtbot.waitUntil(lambda: len(window.model.results) > 0 and "other-" in window.model.path(0), timeout=60_000)
    qtbot.wait(500)  # stale answers, if any arrived late, must not replace the newest
    assert names(window.model.paths())[0] == "other-4.jpg"  # the yellow square


def test_the_results_model_passes_qt_model_tester(qtmodeltester: Any, window: MainWindow) -> None:
    model = ResultsModel(window.loader)
    model.set_results(SearchResults.of(SearchHit(f"/photos/{i}.jpg", 1.0 - i / 100, i + 1) for i in range(50)))
    qtmodeltester.check(model)
    model.set_sort("newest first")
    qtmodeltester.check(model)


def test_dropping_a_photo_finds_it_first(qtbot: Any, window: MainWindow, space: Path) -> None:
    dropped = space / "photos" / "red-rotated.jpg"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dropped))])
    window.search.edit.clear()
    window.search.clear_images(notify=False)
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        event = drop_on(window, mime)
    assert event.isAccepted() and event.dropAction() == Qt.DropAction.CopyAction
    assert window.search.images() == (str(dropped),)
    assert window.model.path(0) == str(dropped)
    assert dropped.is_file()  # copied, never moved


def test_image_data_and_a_web_address_become_similar_searches(qtbot: Any, window: MainWindow, space: Path) -> None:
    window.search.clear_images(notify=False)
    window.search.edit.clear()
    mime = QMimeData()
    mime.setImageData(QImage(str(space / "photos" / "red 1.jpg")))
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        drop_on(window, mime)
    assert "red" in Path(window.model.path(0)).name
    saved = window.search.images()[0]
    assert saved.startswith(str(window.stash.folder))

    served = space / "served"
    served.mkdir(exist_ok=True)
    shutil.copy(space / "photos" / "other-0.jpg", served / "blue.jpg")
    handler = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: handler(*a, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        window.search.clear_images(notify=False)
        mime = QMimeData()
        mime.setUrls([QUrl(f"http://127.0.0.1:{server.server_address[1]}/blue.jpg")])
        with qtbot.waitSignal(window.results_shown, timeout=60_000):
            drop_on(window, mime)
        assert Path(window.model.path(0)).name == "other-0.jpg"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_dragging_results_out_gives_percent_encoded_file_urls(qtbot: Any, window: MainWindow) -> None:
    search_as_typed(qtbot, window, "a red circle")
    rows = [r for r in range(window.model.rowCount()) if "été" in window.model.path(r) or " " in Path(window.model.path(r)).name]
    mime = window.model.mimeData([window.model.index(r) for r in rows])
    urls = bytes(mime.data("text/uri-list").data()).decode("ascii")
    assert "file:///" in urls and "%20" in urls and "vacances%20%C3%A9t%C3%A9" in urls
    assert window.model.supportedDragActions() == Qt.DropAction.CopyAction
    assert {u.toLocalFile() for u in mime.urls()} == {window.model.path(r) for r in rows}


def test_the_thumbnail_of_an_exif_6_layout_shows_red_on_top(qtbot: Any, window: MainWindow) -> None:
    search_as_typed(qtbot, window, "red above blue")
    row = next(r for r in range(window.model.rowCount()) if window.model.path(r).endswith("layout-exif6.jpg"))
    photo = window.model.data(window.model.index(row), Qt.ItemDataRole.UserRole + 2)
    qtbot.waitUntil(lambda: window.loader.pixmap(photo) is not None, timeout=20_000)
    pixmap = window.loader.pixmap(photo)
    assert pixmap is not None
    image = pixmap.toImage()
    assert image.width() > image.height()  # shown as displayed, 4:3 landscape
    top, bottom = (
        image.pixelColor(QPoint(image.width() // 2, image.height() // 4)),
        image.pixelColor(QPoint(image.width() // 2, 3 * image.height() // 4)),
    )
    assert top.red() > 150 and top.blue() < 100, top.name()
    assert bottom.blue() > 150 and bottom.red() < 100, bottom.name()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_in_place_of_a_picture_never_blocks_a_reader(tmp_path: Path) -> None:
    """Opening a pipe with no writer waits for one: a thumbnail loader thread (or the GUI thread,
    for a preview) stuck there for ever. Only regular files are read; a real one still is."""
    from PySide6.QtCore import QSize

    from photosearch.gui.thumbnails import read_scaled

    os.mkfifo(tmp_path / "12.jpg")
    real = write_photo(tmp_path / "real.jpg", RED_CIRCLE, seed=3)
    answers: list[object] = []
    reader = threading.Thread(target=lambda: answers.append(read_scaled(str(tmp_path / "12.jpg"), QSize(64, 64))), daemon=True)
    reader.start()
    reader.join(10)
    assert answers == [None], "the read returned at once, with nothing"
    image = read_scaled(str(real), QSize(64, 64))
    assert image is not None and max(image.width(), image.height()) == 64


def test_dropping_a_folder_adds_it_and_its_photos_appear(qtbot: Any, window: MainWindow, space: Path) -> None:
    extra = space / "more"
    write_photo(extra / "new-red.jpg", RED_CIRCLE, seed=42)
    assert window.status is not None
    before = window.status.photos.indexed  # the new photo counts only once it is indexed
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(extra))])
    event = drop_on(window, mime)
    assert event.isAccepted()
    qtbot.waitUntil(
        lambda: window.status is not None and any(f.path == str(extra) for f in window.status.folders), timeout=60_000
    )
    qtbot.waitUntil(lambda: settled(window, lambda s: s.photos.indexed > before), timeout=60_000)
    assert "new-red.jpg" in names(search_as_typed(qtbot, window, "a red circle")[:6])


def test_sorting_by_date_and_the_preview(qtbot: Any, window: MainWindow) -> None:
    search_as_typed(qtbot, window, "a red circle")
    window.sort.setCurrentIndex(1)  # newest first
    taken = [window.model.hit(r).taken or 0.0 for r in range(window.model.rowCount())]
    assert taken == sorted(taken, reverse=True)
    window.sort.setCurrentIndex(0)
    window.grid.setCurrentIndex(window.model.index(0))
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Space)
    assert window.preview.isVisible() and window.model.path(0) in window.preview.info.text()
    qtbot.keyClick(window.preview, Qt.Key.Key_Right)
    assert window.grid.currentIndex().row() == 1 and window.model.path(1) in window.preview.info.text()
    qtbot.keyClick(window.preview, Qt.Key.Key_Escape)
    assert not window.preview.isVisible()


def test_excluding_a_folder_from_the_settings_takes_its_photos_out(qtbot: Any, window: MainWindow, space: Path) -> None:
    holiday = str(space / "photos" / "vacances été")
    assert "red 2.jpg" in names(search_as_typed(qtbot, window, "a red circle")[:5])
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        window.set_excluded((holiday,))
    qtbot.waitUntil(lambda: window.status is not None and window.status.excluded == (holiday,), timeout=30_000)
    assert "red 2.jpg" not in names(window.model.paths())
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        window.set_excluded(())
    qtbot.waitUntil(lambda: settled(window, lambda s: not s.excluded), timeout=60_000)
    assert "red 2.jpg" in names(search_as_typed(qtbot, window, "a red circle")[:5])


def test_after_the_worker_dies_the_current_query_is_sent_again(qtbot: Any, window: MainWindow) -> None:
    search_as_typed(qtbot, window, "a red circle")
    assert window.bridge.client is not None
    old = window.bridge.client.pid
    with qtbot.waitSignal(window.results_shown, timeout=120_000):
        window.bridge.client.kill()
    assert window.bridge.client.pid != old
    assert "red" in Path(window.model.path(0)).name
    assert "starting again" in window.notice.text()


@pytest.mark.slow
def test_the_inference_setting_restarts_the_worker_and_a_first_export_says_so(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker on a machine that has not yet exported the model (a fresh export cache) tells
    the window why loading takes longer; the backend chosen in the settings is the worker's."""
    monkeypatch.setenv("PHOTOSEARCH_EXPORT_CACHE", str(tmp_path / "fresh-export-cache"))
    notices: list[str] = []
    window.bridge.notice.connect(notices.append)
    try:
        with qtbot.waitSignal(window.bridge.ready, timeout=120_000):
            window.apply_preferences(replace(window.preferences, backend="onnx"))

        qtbot.waitUntil(lambda: any("for this CPU" in n for n in notices) and _backend(window) == "onnx", timeout=120_000)
        with qtbot.waitSignal(window.bridge.ready, timeout=120_000):
            window.apply_preferences(replace(window.preferences, backend="torch"))
        qtbot.waitUntil(lambda: _backend(window) == "torch", timeout=120_000)
        search_as_typed(qtbot, window, "a red circle")
        assert "red" in Path(window.model.path(0)).name
    finally:
        window.bridge.notice.disconnect(notices.append)
        with qtbot.waitSignal(window.bridge.ready, timeout=120_000):
            window.apply_preferences(replace(window.preferences, backend="auto"))


def _backend(window: MainWindow) -> str | None:
    window.refresh_status()
    status = window.status
    return status.worker.inference_backend if status is not None and status.worker is not None else None


def test_a_first_run_asks_for_a_folder_or_the_demo(qtbot: Any, tmp_path: Path) -> None:
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    first = MainWindow(WorkerSettings(home=str(tmp_path / "empty"), model="tiny-shapes", threads=1), store)
    first.show()
    try:
        qtbot.waitUntil(lambda: first.status is not None, timeout=120_000)
        assert first.pages.currentWidget() is first.empty
        assert first.empty.add_button.isVisible() and first.empty.demo_button.isVisible()
        first.filters.cell.setValue(200)
    finally:
        first.close()
    again = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert int(again.value("grid/cell")) == 200
    assert again.value("window/geometry") is None  # offscreen: a scripted check never resizes the user's window


def test_the_demo_button_makes_the_demo_library_and_the_window_searches_it(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run's "Try the demo library": the command line writes and indexes it (the
    window's worker stops first), the window switches to it and says so to its single-instance
    server, and a search finds the demo's red circles."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # the demo goes to this user's pictures folder
    monkeypatch.delenv("XDG_PICTURES_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(WorkerSettings(home=str(tmp_path / "empty"), model="tiny-shapes", threads=1), store)
    switched: list[str] = []
    window.library_switched.connect(switched.append)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.status is not None and window.empty.demo_button.isVisible(), timeout=120_000)
        qtbot.mouseClick(window.empty.demo_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bool(switched), timeout=180_000)
        assert Path(switched[0]).is_relative_to(tmp_path / "home")
        assert store.value("library/home") == switched[0], "the next launch opens the demo too"
        qtbot.waitUntil(lambda: window.status is not None and window.status.library == switched[0], timeout=120_000)
        assert window.status is not None and window.status.photos.indexed > 100
        assert "red" in names(search_as_typed(qtbot, window, "a red circle"))[0]
    finally:
        window.close()


@pytest.mark.slow
def test_switching_the_model_reindexes_and_switching_back_costs_nothing(qtbot: Any, window: MainWindow, space: Path) -> None:
    """A second model (the tiny weights imported under another name): the library embeds every
    photo for it in the background while the window says how many are searchable; switching
    back re-uses the vectors the catalog kept, so nothing is embedded again."""
    from dataclasses import replace

    from photosearch.core.library import import_model
    from photosearch.core.models.registry import TINY_MODEL_DIR

    import_model(space / "library", TINY_MODEL_DIR / "tiny-shapes.safetensors", "tiny-shapes", "tiny-copy")
    seen: list[str] = []
    window.apply_preferences(replace(window.preferences, model="tiny-copy"))
    assert window.isVisible()  # the old worker stops on a thread of its own: the window stays live

    def switched(model: str) -> bool:
        seen.append(window.state_label.text())
        status = window.status
        return bool(status and status.model == model and status.photos.pending == 0 and status.worker and status.worker.idle)

    qtbot.waitUntil(lambda: switched("tiny-copy"), timeout=180_000)
    assert window.status is not None and window.status.worker is not None and window.status.worker.stats.embedded >= 10
    assert any("searchable" in text and "tiny-copy" in text for text in seen)
    assert "red" in names(search_as_typed(qtbot, window, "a red circle"))[0]

    window.apply_preferences(replace(window.preferences, model=""))  # back to the library's first model
    qtbot.waitUntil(lambda: switched("tiny-shapes"), timeout=180_000)
    assert window.status.worker.stats.embedded == 0  # its vectors were still in the catalog
    assert "red" in names(search_as_typed(qtbot, window, "a red circle"))[0]


def test_a_model_without_weights_offers_download_and_import_and_says_when_offline(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there: offline
    monkeypatch.setenv("PHOTOSEARCH_MODEL_CACHE", str(tmp_path / "cache"))
    write_photo(tmp_path / "photos" / "red.jpg", RED_CIRCLE)
    with Library(tmp_path / "library", model="ViT-B-32") as library:
        library.add_folder(tmp_path / "photos")
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(WorkerSettings(home=str(tmp_path / "library"), model="ViT-B-32", threads=1), store, start_worker=False)
    notices: list[str] = []
    window.bridge.notice.connect(notices.append)
    window.bridge.start()
    window.show()
    try:
        qtbot.waitUntil(lambda: window.status is not None, timeout=120_000)
        assert window.pages.currentWidget() is window.empty and "ViT-B-32" in window.empty.title.text()
        assert window.empty.download_button.isVisible() and window.empty.import_button.isVisible()
        qtbot.mouseClick(window.empty.download_button, Qt.MouseButton.LeftButton)
        window.refresh_status()  # a status during the download kept the grid up once (a fresh-clone run caught it)
        qtbot.waitUntil(lambda: "cannot reach the model hub" in window.empty.text.text(), timeout=60_000)
        page = window.empty.text.text()
        assert "open_clip_model.safetensors" in page and "import it here" in page and window.empty.import_button.isVisible()
        assert "photosearch models" not in page and "--model" not in page  # the window's words, not the CLI's
        # nor in the worker's notice that the model cannot load (its loader may still be trying)
        qtbot.waitUntil(lambda: any("cannot load the model" in notice for notice in notices), timeout=60_000)
        cannot_load = [notice for notice in notices if "cannot load the model" in notice]
        assert "--model" not in cannot_load[0] and "photosearch models" not in cannot_load[0]
        window.refresh_status()  # a later status (the worker says its model is unavailable) keeps the reason
        qtbot.waitUntil(lambda: not window._status_asked, timeout=30_000)
        assert "cannot reach the model hub" in window.empty.text.text()
    finally:
        window.close()


def test_the_about_box_names_the_version_qt_and_the_licences(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: Any
) -> None:
    from PySide6.QtCore import qVersion

    from photosearch import __version__
    from photosearch.gui import about

    qtbot.mouseClick(window.about_button, Qt.MouseButton.LeftButton)
    dialog = window.about_dialog
    assert dialog is not None and dialog.isVisible()
    labels = " ".join(label.text() for label in dialog.findChildren(about.QLabel))
    assert f"photosearch {__version__}" in labels and f"Qt {qVersion()}" in labels and "LGPL" in labels
    notices = dialog.notices.toPlainText()
    assert "GNU Lesser General Public License" in notices and "PySide6" in notices and "tiny-shapes" in notices
    dialog.close()
    # An installed app also carries every component's full licence text, read when its tab opens.
    texts = tmp_path / "THIRD_PARTY_LICENSES.txt"
    texts.write_text("torch 2.13.0: BSD-3-Clause\n")
    monkeypatch.setattr(about, "ALL_LICENSES", texts)
    full = about.AboutDialog(window)
    assert full.tabs.count() == 2 and full.licenses is not None and not full.licenses.toPlainText()
    full.tabs.setCurrentIndex(1)
    assert "torch 2.13.0" in full.licenses.toPlainText()
    full.close()


def test_a_photo_the_system_opens_in_the_app_becomes_a_similar_search(qtbot: Any, window: MainWindow, space: Path) -> None:
    """macOS hands "Open With" files to a running app as FileOpen events, possibly before the
    window exists: they wait, then search like a drop."""
    from PySide6.QtGui import QFileOpenEvent

    from photosearch.gui.file_open import FileOpenEvents

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    opened = FileOpenEvents(app)
    try:
        photo = space / "photos" / "red-heic.heic"
        QApplication.sendEvent(app, QFileOpenEvent(str(photo)))
        assert opened.pending == [str(photo)]
        window.search.edit.clear()
        window.search.clear_images(notify=False)
        with qtbot.waitSignal(window.results_shown, timeout=60_000):
            opened.deliver_to(window.search_similar)
        assert window.search.images() == (str(photo),) and window.model.path(0) == str(photo)
    finally:
        app.removeEventFilter(opened)
        opened.deleteLater()


def test_words_given_after_a_photo_join_it_in_one_query(qtbot: Any, window: MainWindow, space: Path) -> None:
    """`photosearch gui --similar PHOTO --query WORDS` (and a typed query after an "Open with")
    is one combined search: the words must not drop the photo's chip."""
    photo = str(space / "photos" / "red 1.jpg")
    window.search.edit.clear()
    window.search.clear_images(notify=False)
    window.search_similar(photo)
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        window.run_query("a red circle")
    assert window.search.images() == (photo,) and window.search.text() == "a red circle"
    query = window.session.query
    assert query is not None and (query.text, query.images) == ("a red circle", (photo,))
