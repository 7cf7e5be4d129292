"""Handing photos to the desktop: open in the system viewer, reveal in the file manager, copy.
Every program started here gets the user's environment (launch_environment.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

from .launch_environment import launching


def open_file(path: str) -> bool:
    with launching():
        return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


# players that can start a video at a given second, and how they are told (the system's default
# player is opened through the desktop, which has no way to say where to start)
_PLAYERS_WITH_START = (("mpv", "--start={:.2f}"), ("vlc", "--start-time={:.2f}"), ("celluloid", "--mpv-start={:.2f}"))


def open_video_at(path: str, seconds: float) -> bool | None:
    """Play a video from `seconds` in a player that can be told where to start: True when one
    started, None when none is installed (the caller opens it the usual way, from the start)."""
    for name, option in _PLAYERS_WITH_START:
        program = shutil.which(name)
        if program is None:
            continue
        try:
            with launching():
                subprocess.Popen([program, option.format(seconds), path], stdin=subprocess.DEVNULL, start_new_session=True)
            return True
        except OSError:
            continue
    return None


def reveal(path: str) -> bool:
    """Show the file selected in the file manager (per OS), else open its folder."""
    try:
        if sys.platform == "darwin":
            subprocess.Popen(["open", "-R", path])
            return True
        if sys.platform == "win32":
            with launching():
                subprocess.Popen(["explorer", "/select,", os.path.normpath(path)])
            return True
        from PySide6.QtDBus import QDBusConnection, QDBusInterface

        bus = QDBusConnection.sessionBus()
        if bus.isConnected():
            manager = QDBusInterface(
                "org.freedesktop.FileManager1", "/org/freedesktop/FileManager1", "org.freedesktop.FileManager1", bus
            )
            if manager.isValid():
                reply = manager.call("ShowItems", [QUrl.fromLocalFile(path).toString()], "")
                if not reply.errorName():
                    return True
    except (OSError, ImportError):
        pass
    with launching():
        return QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))


def copy_files(paths: list[str]) -> None:
    """Copy photos to the clipboard as files (paste into a file manager, mail or chat)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(p) for p in paths])
    mime.setText("\n".join(paths))
    QGuiApplication.clipboard().setMimeData(mime)


def copy_paths(paths: list[str]) -> None:
    QGuiApplication.clipboard().setText("\n".join(paths))
