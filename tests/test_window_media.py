"""The window with RAW files and videos, offscreen, on a real worker with the tiny model: a video
result shows the frame that matched with a play mark and its length, opens at that moment, a
RAW beside its JPEG is one cell that drags out both files, and the kind filter narrows."""

from __future__ import annotations

import os
import random
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from window_helpers import indexed_library, names, open_window, search_as_typed, write_photo

from photosearch.gui.results_model import MEDIA_ROLE
from photosearch.gui.window import MainWindow
from photosearch.samples import synthetic
from photosearch.samples.raw_files import write_dng
from photosearch.samples.videos import write_video

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model

LAYOUTS = {label.key: label for label in synthetic.layout_labels()}
RED_CIRCLE = synthetic.ShapeLabel("red", "circle")
BLACK_SQUARE = synthetic.ShapeLabel("black", "square")


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("window-media")
    media = root / "media"
    write_video(
        media / "beach.mp4", [(LAYOUTS["yellow left of green"], 4.0), (RED_CIRCLE, 3.0), (LAYOUTS["blue above white"], 3.0)]
    )
    write_photo(media / "DSC_0001.jpg", BLACK_SQUARE, seed=1)
    write_dng(media / "DSC_0001.dng", synthetic.render(BLACK_SQUARE, (800, 600), random.Random(1)))
    write_photo(media / "green.jpg", synthetic.ShapeLabel("green", "triangle"), seed=2)
    return indexed_library(root, media)


@pytest.fixture(scope="module")
def window(space: Path, qapp: QApplication) -> Iterator[MainWindow]:
    win = open_window(space, qapp, indexed=4)
    yield win
    win.close()
    qapp.processEvents()


def _row(window: MainWindow, name: str) -> int:
    return next(r for r in range(window.model.rowCount()) if Path(window.model.path(r)).name == name)


def test_a_video_result_shows_the_frame_that_matched_with_a_play_mark_and_its_length(qtbot: Any, window: MainWindow) -> None:
    found = names(search_as_typed(qtbot, window, "a red circle"))
    assert found[0] == "beach.mp4" and found.count("beach.mp4") == 1
    index = window.model.index(0)
    assert window.model.data(index, MEDIA_ROLE) == (True, "0:10")
    assert "best match at 0:04 of 0:10" in window.model.data(index, Qt.ItemDataRole.ToolTipRole)
    qtbot.waitUntil(lambda: window.model.data(index, Qt.ItemDataRole.DecorationRole) is not None, timeout=20_000)
    image = window.model.data(index, Qt.ItemDataRole.DecorationRole).toImage()
    centre = image.pixelColor(image.width() // 2, image.height() // 2)
    assert centre.red() > 150 and centre.green() < 100  # the red circle's frame, not the video's cover


def test_a_raw_beside_its_jpeg_is_one_cell_that_drags_out_both_files(qtbot: Any, window: MainWindow) -> None:
    found = names(search_as_typed(qtbot, window, "a black square"))
    assert found[0] == "DSC_0001.jpg" and "DSC_0001.dng" not in found
    row = _row(window, "DSC_0001.jpg")
    assert window.model.data(window.model.index(row), MEDIA_ROLE) == (False, "RAW")
    mime = window.model.mimeData([window.model.index(row)])
    assert [Path(u.toLocalFile()).name for u in mime.urls()] == ["DSC_0001.jpg", "DSC_0001.dng"]


def test_the_kind_filter_shows_only_videos(qtbot: Any, window: MainWindow) -> None:
    bar = window.filters
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        bar.kind.setCurrentIndex(bar.kind.findData("video"))
    assert names(window.model.paths()) == ["beach.mp4"]
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        bar.kind.setCurrentIndex(0)
    assert len(window.model.paths()) == 3


def test_opening_a_video_result_starts_a_player_at_the_moment(
    qtbot: Any, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in `mpv` on PATH records how it was started (the player is not under test)."""
    record = tmp_path / "mpv-args"
    player = tmp_path / "bin" / "mpv"
    player.parent.mkdir()
    player.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{record}"\n')
    player.chmod(player.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{player.parent}{os.pathsep}{os.environ['PATH']}")
    search_as_typed(qtbot, window, "a red circle")
    window.results_actions.open([_row(window, "beach.mp4")])
    deadline = time.monotonic() + 10
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    arguments = record.read_text().splitlines()
    assert arguments[0] == "--start=4.00" and Path(arguments[1]).name == "beach.mp4"
