"""One window per library: the local socket a window listens on, with real QLocalServer and
QLocalSocket (the launches themselves, as processes under Xvfb, are in test_window_xdotool.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6.QtNetwork")

from PySide6.QtCore import QCoreApplication

from photosearch.gui.single_instance import InstanceServer, server_name

LAUNCH = """
import json, sys
from PySide6.QtCore import QCoreApplication
from photosearch.gui.single_instance import hand_over
app = QCoreApplication([])
name, images, query = json.loads(sys.argv[1])
print("handed over" if hand_over(name, images, query) else "no window")
"""


def _launch(qtbot: Any, name: str, images: list[str], query: str | None) -> bool:
    """A second launch: another process, while this one's event loop runs the open window's server."""
    launch = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, json.dumps([name, images, query])], stdout=subprocess.PIPE, text=True
    )
    qtbot.waitUntil(lambda: launch.poll() is not None, timeout=30_000)
    out, _ = launch.communicate()
    return out.strip() == "handed over"


def test_a_launch_on_the_same_library_reaches_the_open_window(qtbot: Any, tmp_path: Path) -> None:
    received: list[tuple[list[str], str | None]] = []
    name = server_name(str(tmp_path / "library"))
    server = InstanceServer(name, lambda images, query: received.append((images, query)))
    try:
        assert server.listening
        assert _launch(qtbot, name, ["/photos/a.jpg"], "at night")
        qtbot.waitUntil(lambda: bool(received), timeout=5_000)
        assert received == [(["/photos/a.jpg"], "at night")]
        assert not _launch(qtbot, server_name(str(tmp_path / "other")), [], "x"), "another library"
    finally:
        server.close()


def test_a_live_window_is_never_taken_over_and_a_switched_window_listens_for_its_new_library(qtbot: Any, tmp_path: Path) -> None:
    first: list[str | None] = []
    second: list[str | None] = []
    library, demo = server_name(str(tmp_path / "library")), server_name(str(tmp_path / "demo"))
    open_window = InstanceServer(library, lambda _images, query: first.append(query))
    later = InstanceServer(library, lambda _images, query: second.append(query))
    try:
        assert open_window.listening and not later.listening, "the live window keeps its library"
        assert _launch(qtbot, library, [], "to the first")
        qtbot.waitUntil(lambda: bool(first), timeout=5_000)
        assert later.listen_for(demo), "the later window switched to the demo library"
        assert _launch(qtbot, demo, [], "to the demo")
        qtbot.waitUntil(lambda: bool(second), timeout=5_000)
        assert first == ["to the first"] and second == ["to the demo"]
        open_window.listen_for(demo)
        assert _launch(qtbot, library, [], "nobody") is False, "the first window left its old library"
    finally:
        open_window.close()
        later.close()
    QCoreApplication.processEvents()


def test_a_closing_window_takes_no_launches_and_never_shows_again(qtbot: Any, tmp_path: Path) -> None:
    """A launch while the window closes (its worker finishing a batch) would reach a window about
    to go and be lost, or show it again with no worker: it opens a window of its own instead."""
    from PySide6.QtCore import QSettings

    from photosearch.gui.window import MainWindow
    from photosearch.worker.protocol import WorkerSettings

    settings = WorkerSettings(home=str(tmp_path / "library"), model="tiny-shapes", threads=1)
    window = MainWindow(settings, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat), start_worker=False)
    name = server_name(settings.home)
    server = InstanceServer(name, window.take_over_launch, window)
    window.show()
    assert server.listening and _launch(qtbot, name, [], "while open")
    window.close()
    assert not server.listening
    assert not _launch(qtbot, name, ["/photos/a.jpg"], "while closing"), "it reached the closing window"
    window.take_over_launch(["/photos/b.jpg"], None)  # one that arrived just before
    QCoreApplication.processEvents()
    assert not window.isVisible()
