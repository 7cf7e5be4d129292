"""The Duplicates window (issue 27): a real window offscreen, a real worker, the tiny model and
real files; the user reviews groups from the keyboard, moves photos to the real freedesktop
trash of the test HOME, undoes it, and says "not duplicates"."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication
from window_helpers import wait_for

from photosearch.core.library import Library
from photosearch.gui.duplicates_window import PhotoCard
from photosearch.gui.window import MainWindow
from photosearch.samples.duplicate_sets import save, write_burst
from photosearch.samples.scenes import scenes
from photosearch.worker.protocol import WorkerSettings

pytestmark = pytest.mark.usefixtures("tiny_model")
NOON = datetime(2024, 6, 1, 12, 0, 0)


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dup-window")
    own = scenes(3, seed=88)
    photo = own[0].render((1200, 900))
    save(photo, root / "photos" / "lake.jpg", NOON)
    save(photo.resize((600, 450)), root / "photos" / "lake-small.jpg", NOON, quality=70)
    (root / "photos" / "backup").mkdir()
    (root / "photos" / "backup" / "lake copy.jpg").write_bytes((root / "photos" / "lake.jpg").read_bytes())
    write_burst(own[1], root / "photos" / "party", "shot", datetime(2024, 6, 2, 20, 0, 0), shots=3)
    save(own[2].render((1200, 900)), root / "photos" / "other.jpg", datetime(2024, 6, 3, 9, 0, 0))
    with Library(root / "library", model="tiny-shapes", threads=2) as library:
        library.add_folder(root / "photos")
        library.index()
    return root


@pytest.fixture
def window(space: Path, qapp: QApplication) -> Iterator[MainWindow]:
    store = QSettings(str(space / "settings.ini"), QSettings.Format.IniFormat)
    settings = WorkerSettings(home=str(space / "library"), model="tiny-shapes", threads=2, quiet_s=0.2, settle_s=0.3)
    win = MainWindow(settings, store)
    win.resize(900, 600)
    win.show()
    assert wait_for(qapp, lambda: win.bridge.is_ready, 120), "no worker"
    yield win
    win.close()
    qapp.processEvents()


def _opened(qtbot: Any, window: MainWindow, qapp: QApplication) -> Any:
    qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    dialog = window.duplicates_window
    assert wait_for(qapp, lambda: dialog.isVisible() and dialog.groups, 30), dialog.summary.text()
    return dialog


def _trash() -> Path:
    return Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files"


def test_review_from_the_keyboard_trash_and_undo(qtbot: Any, window: MainWindow, qapp: QApplication, space: Path) -> None:
    dialog = _opened(qtbot, window, qapp)
    assert dialog.tabs.tabText(0) == "Exact copies (1)" and dialog.tabs.tabText(2) == "Bursts (1)"
    cards = dialog._card_list
    assert [Path(c.photo.path).name for c in cards] == ["lake.jpg", "lake copy.jpg"]
    assert cards[0].keep.isChecked() and not cards[1].keep.isChecked() and "copy" in cards[0].reason.text()
    assert "Move 1 to the &trash" in dialog.trash_button.text()

    dialog.list.setFocus()
    qtbot.keyClick(dialog.list, Qt.Key.Key_Delete)
    copy = space / "photos" / "backup" / "lake copy.jpg"
    assert not copy.exists() and (_trash() / "lake copy.jpg").exists(), "moved to the system trash, not deleted"
    assert "Moved 1 photo to the trash" in dialog.message.text() and not dialog.groups
    # the worker sees the file go: the library and the counts follow
    assert wait_for(qapp, lambda: dialog.tabs.tabText(0) == "Exact copies (0)", 30), dialog.tabs.tabText(0)

    qtbot.keyClick(dialog, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert copy.exists() and not (_trash() / "lake copy.jpg").exists()
    assert wait_for(qapp, lambda: dialog.tabs.tabText(0) == "Exact copies (1)" and len(dialog.groups) == 1, 60), "back"


def test_bursts_keep_several_and_not_duplicates_is_remembered(
    qtbot: Any, window: MainWindow, qapp: QApplication, space: Path
) -> None:
    dialog = _opened(qtbot, window, qapp)
    dialog.tabs.setCurrentIndex(2)
    assert wait_for(qapp, lambda: dialog.kind == "burst" and len(dialog._card_list) == 3, 30)
    assert dialog._card_list[0].reason.text() == "Suggested: the sharpest shot"
    dialog.activateWindow()
    assert wait_for(qapp, dialog.isActiveWindow, 10)
    first = dialog._card_list[0]
    first.setFocus()
    qtbot.keyClick(first, Qt.Key.Key_Right)
    second = dialog._card_list[1]
    assert dialog.focusWidget() is second
    qtbot.keyClick(second, Qt.Key.Key_Space)  # keep this one too
    assert second.keep.isChecked() and "Move 1 to the &trash" in dialog.trash_button.text()
    for card in dialog._card_list:  # keeping none would trash the whole moment: refused
        card.keep.setChecked(False)
    dialog.trash_unkept()
    assert "Keep at least one" in dialog.message.text() and all(Path(c.photo.path).exists() for c in dialog._card_list)

    dialog.list.setFocus()
    qtbot.keyClick(dialog.list, Qt.Key.Key_N)
    assert "not duplicates" in dialog.message.text() and not dialog.groups
    with Library(space / "library", model="tiny-shapes", for_reading=True) as library:
        assert wait_for(qapp, lambda: library.duplicate_groups("burst") == [], 30), "remembered by the library"
    assert all(isinstance(card, PhotoCard) for card in dialog._card_list)


def test_the_strictness_moves_along_the_curve(qtbot: Any, window: MainWindow, qapp: QApplication) -> None:
    dialog = _opened(qtbot, window, qapp)
    dialog.tabs.setCurrentIndex(1)
    assert wait_for(qapp, lambda: dialog.kind == "same" and dialog.groups, 30)
    same = {Path(p.path).name for p in dialog.groups[0].photos}
    assert {"lake.jpg", "lake-small.jpg"} <= same
    dialog.strictness_box.setCurrentIndex(3)  # loosest
    assert wait_for(qapp, lambda: dialog.strictness == 4 and dialog.groups, 30)
    assert "Loosest" in dialog.strictness_box.currentText()


def test_opened_before_the_worker_answers_it_waits_and_then_shows_the_groups(qtbot: Any, space: Path, qapp: QApplication) -> None:
    store = QSettings(str(space / "settings-early.ini"), QSettings.Format.IniFormat)
    win = MainWindow(WorkerSettings(home=str(space / "library"), model="tiny-shapes", threads=2), store)
    try:
        win.show()
        win.show_duplicates()  # at once: the worker is still starting
        dialog = win.duplicates_window
        assert not win.bridge.is_ready and dialog.summary.text() in ("Asking the worker…", "Waiting for the library to open…")
        assert wait_for(qapp, lambda: bool(dialog.groups), 120), dialog.summary.text()
    finally:
        win.close()
        qapp.processEvents()


def test_results_fold_a_photos_forms_into_one_cell_with_a_badge_when_asked(
    qtbot: Any, window: MainWindow, qapp: QApplication, space: Path
) -> None:
    from dataclasses import replace

    from photosearch.gui.results_model import FOLDED_ROLE
    from photosearch.gui.settings import Preferences, SettingsDialog

    lake = str(space / "photos" / "lake.jpg")
    window.search_similar(lake)
    assert wait_for(qapp, lambda: len(window.model.results) >= 3, 60)
    plain = window.model.paths()
    assert {Path(p).name for p in plain[:3]} >= {"lake.jpg", "lake copy.jpg"}
    assert all(window.model.index(r).data(FOLDED_ROLE) == 1 for r in range(window.model.rowCount()))

    dialog = SettingsDialog(window.preferences, [], ())
    assert not dialog.fold.isChecked()
    dialog.fold.setChecked(True)
    window.apply_preferences(dialog.preferences())
    assert Preferences.load(window.store).fold_duplicates, "remembered"
    assert wait_for(qapp, lambda: window.model.index(0).data(FOLDED_ROLE) == 3, 60), "lake, its copy and its smaller self"
    folded_paths = window.model.paths()
    assert len(folded_paths) == len(plain) - 2 and "other form" in str(window.model.index(0).data(Qt.ItemDataRole.ToolTipRole))
    window.grid.viewport().grab()  # the badge paints
    window.apply_preferences(replace(window.preferences, fold_duplicates=False))
    assert wait_for(qapp, lambda: window.model.paths() == plain, 60)
