"""The doors between rooms stay shut: the core never imports Qt; importing it never loads torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "photosearch"
CORE = [p for p in PACKAGE.glob("*.py")]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_never_imports_qt(path: Path) -> None:
    assert not {"PySide6", "shiboken6", "PyQt5", "PyQt6"} & _imports(path)


def test_torch_is_imported_only_by_the_embedder_and_model_import() -> None:
    users = {p.name for p in CORE if {"torch", "open_clip"} & _imports(p)}
    assert users <= {"embedder.py", "models.py"}


def test_importing_the_core_and_cli_loads_neither_torch_nor_qt() -> None:
    code = (
        "import sys, photosearch.cli, photosearch.library, photosearch.demo, photosearch.client\n"
        "bad = {'torch', 'open_clip', 'PySide6'} & set(sys.modules)\n"
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


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
