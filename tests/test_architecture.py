"""The doors between rooms stay shut, at run time (the import contracts in pyproject.toml are the
static twin, checked by `lint-imports` in `make lint`).

The window's process must stay light: importing the client, the protocol and the window never
loads torch, open_clip, hnswlib or numpy; no room but the window ever loads Qt; importing
any room loads no torch. Every module of every subpackage is covered, so a module moved into a
new room cannot drop out of these checks.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import textwrap

import pytest

import photosearch

HEAVY = ("torch", "open_clip", "hnswlib", "numpy")
QT = ("PySide6", "shiboken6")
ROOMS = ("core", "worker", "cli", "samples", "gui")
# The window's process side: what the GUI process may import, and which must keep it light.
GUI_PROCESS_SIDE = ("photosearch.worker.client", "photosearch.worker.protocol", "photosearch.worker.process")


def _modules() -> list[str]:
    names = [info.name for info in pkgutil.walk_packages(photosearch.__path__, "photosearch.")]
    return sorted(n for n in names if not n.endswith("__main__"))


def _loaded_after_import(modules: list[str] | tuple[str, ...]) -> set[str]:
    """Every module in sys.modules after importing `modules` in a fresh interpreter."""
    code = textwrap.dedent(
        f"""
        import importlib, sys
        for name in {list(modules)!r}:
            importlib.import_module(name)
        print(" ".join(sorted(sys.modules)))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return set(result.stdout.split())


def test_every_module_belongs_to_a_room_or_is_shared() -> None:
    shared = {
        "photosearch.errors",
        "photosearch.records",
        "photosearch.logs",
        "photosearch.places",
        "photosearch.durations",
        "photosearch.privacy",
        "photosearch.trash",
        "photosearch.running",
        "photosearch.launcher",
    }
    for name in _modules():
        parts = name.split(".")
        assert name in shared or parts[1] in ROOMS, name


def test_the_launcher_loads_neither_the_window_nor_the_core_before_it_knows_which() -> None:
    loaded = _loaded_after_import(("photosearch.launcher",))
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY + QT)
    assert not [m for m in loaded if m.startswith(("photosearch.core", "photosearch.gui", "photosearch.cli"))]


def test_the_gui_process_side_loads_no_core_torch_or_numpy() -> None:
    gui = [m for m in _modules() if m.startswith("photosearch.gui")]
    loaded = _loaded_after_import((*GUI_PROCESS_SIDE, *gui))
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY)
    assert not [m for m in loaded if m.startswith("photosearch.core")]


@pytest.mark.parametrize("room", ["core", "worker", "cli", "samples"])
def test_no_room_but_the_window_loads_qt_and_none_loads_torch_on_import(room: str) -> None:
    modules = [m for m in _modules() if m.startswith(f"photosearch.{room}")]
    loaded = {m.split(".")[0] for m in _loaded_after_import(modules)}
    assert not loaded & set(QT), (room, loaded & set(QT))
    assert not loaded & {"torch", "open_clip"}, (room, loaded & {"torch", "open_clip"})


def test_pyside6_processevents_keeps_none_alive() -> None:
    """PySide6 6.12.0 on Python 3.11 drops a reference to None per processEvents() and aborts."""
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "before = sys.getrefcount(None)\n"
        "for _ in range(1000): app.processEvents()\n"
        "after = sys.getrefcount(None)\n"
        "assert after >= before - 10, (before, after)\n"
    )
    env = {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
