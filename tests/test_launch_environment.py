"""Programs the window starts get the user's environment, not the frozen bundle's (the proof on
an installed app is in installers/linux/test.sh: a stand-in viewer reports what it got)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from photosearch.gui import launch_environment


def test_the_bundle_leaves_the_variables_the_user_had_and_none_it_added(tmp_path: Path) -> None:
    bundle = tmp_path / "opt" / "photosearch" / "_internal"
    (bundle / "PySide6").mkdir(parents=True)
    environ = {
        "LD_LIBRARY_PATH": f"{bundle}{os.pathsep}/home/me/lib",
        "LD_LIBRARY_PATH_ORIG": "/home/me/lib",  # what the bootloader saves of the user's own
        "QT_PLUGIN_PATH": str(bundle / "PySide6" / "Qt" / "plugins"),
        "QML2_IMPORT_PATH": f"{bundle / 'PySide6' / 'qml'}{os.pathsep}/home/me/qml",
        "DYLD_LIBRARY_PATH": str(bundle),
        "HOME": "/home/me",
    }
    changed = launch_environment.user_environment(environ, str(bundle))
    assert environ == {"LD_LIBRARY_PATH": "/home/me/lib", "QML2_IMPORT_PATH": "/home/me/qml", "HOME": "/home/me"}
    assert sorted(changed) == ["DYLD_LIBRARY_PATH", "LD_LIBRARY_PATH", "QML2_IMPORT_PATH", "QT_PLUGIN_PATH"]
    # a user with no LD_LIBRARY_PATH of their own gets none
    environ = {"LD_LIBRARY_PATH": str(bundle)}
    launch_environment.user_environment(environ, str(bundle))
    assert environ == {}


@pytest.mark.skipif(sys.platform == "win32", reason="the environment's part; Windows clears its DLL directory per launch")
def test_a_program_started_by_the_frozen_window_sees_the_users_environment(
    qapp: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the frozen app runs (sys.frozen, sys._MEIPASS, the variables the bootloader and Qt's hook
    set), then a real child process reports what it inherited."""
    bundle = tmp_path / "_internal"
    bundle.mkdir()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    monkeypatch.setenv("LD_LIBRARY_PATH", f"{bundle}{os.pathsep}/usr/local/lib/mine")
    monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", "/usr/local/lib/mine")
    monkeypatch.setenv("QT_PLUGIN_PATH", str(bundle / "PySide6" / "Qt" / "plugins"))
    from PySide6.QtCore import QCoreApplication

    paths = QCoreApplication.libraryPaths()
    try:
        launch_environment.restore_for_programs_started()
        assert QCoreApplication.libraryPaths() == paths  # the window's own plugins are still found
        seen = subprocess.run(["env"], capture_output=True, text=True, check=True).stdout.splitlines()
    finally:
        QCoreApplication.setLibraryPaths(paths)
    assert "LD_LIBRARY_PATH=/usr/local/lib/mine" in seen
    assert not [line for line in seen if str(bundle) in line or line.startswith(("QT_PLUGIN_PATH=", "LD_LIBRARY_PATH_ORIG="))]


def test_from_source_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setenv("QT_PLUGIN_PATH", "/somewhere/plugins")
    assert launch_environment.restore_for_programs_started() == []
    assert os.environ["QT_PLUGIN_PATH"] == "/somewhere/plugins"
