"""What the window's tests share: writing photos, waiting, searching as a user types, dropping."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from photosearch.gui.window import MainWindow
from photosearch.records import LibraryStatus
from photosearch.samples import synthetic

RED_CIRCLE = synthetic.ShapeLabel("red", "circle")
RED_ABOVE_BLUE = synthetic.LayoutLabel("red", "blue", "vertical")
OTHERS = [synthetic.ShapeLabel(c, s) for c in ("blue", "green", "yellow") for s in ("square", "triangle")]


def write_photo(path: Path, label: synthetic.Label, orientation: int = 1, seed: int = 0) -> Path:
    return synthetic.write_photo(path, label, (480, 360), random.Random(seed), orientation)


def indexed_library(root: Path, photos: Path) -> Path:
    """`root`, with its library (tiny model) holding `photos` indexed: what a window opens on."""
    from photosearch.core.library import Library

    with Library(root / "library", model="tiny-shapes", threads=2) as library:
        library.add_folder(photos)
        library.index()
    return root


def open_window(root: Path, app: QApplication, indexed: int) -> MainWindow:
    """A shown window on `root`'s library (settings of its own) once its worker reports `indexed` photos."""
    from PySide6.QtCore import QSettings

    from photosearch.worker.protocol import WorkerSettings

    store = QSettings(str(root / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(WorkerSettings(home=str(root / "library"), model="tiny-shapes", threads=2), store)
    window.show()
    assert wait_for(app, lambda: window.status is not None and window.status.photos.indexed >= indexed, 120), (
        "the worker did not report the library"
    )
    return window


def wait_for(app: QApplication, condition: Any, timeout: float) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return False


def search_as_typed(qtbot: Any, window: MainWindow, text: str) -> list[str]:
    window.search.edit.clear()
    window.search.clear_images(notify=False)
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        qtbot.keyClicks(window.search.edit, text)
    return window.model.paths()


def settled(window: MainWindow, also: Callable[[LibraryStatus], bool]) -> bool:
    """The window's last status says nothing is pending and `also` holds."""
    status = window.status
    return status is not None and status.photos.pending == 0 and also(status)


def names(paths: list[str]) -> list[str]:
    return [Path(p).name for p in paths]


def drop_on(window: MainWindow, mime: QMimeData) -> QDropEvent:
    """What a drag from another application delivers to the grid: enter, move, drop."""
    viewport = window.grid.viewport()
    buttons, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    for kind in (QDragEnterEvent, QDragMoveEvent):
        moving = kind(QPoint(20, 20), Qt.DropAction.CopyAction, mime, buttons, keys)
        QApplication.sendEvent(viewport, moving)
        assert moving.isAccepted(), kind.__name__
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, buttons, keys)
    QApplication.sendEvent(viewport, event)
    return event
