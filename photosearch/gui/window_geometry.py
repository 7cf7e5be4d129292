"""Where the window opens: where the user left it, never too small to use (a geometry saved at
another display scale restores tiny) and never larger than the screen it opens on."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

KEY = "window/geometry"
FIRST_SIZE = (1100, 760)
SMALLEST_USABLE = (480, 360)


def restore(window: QWidget, store: QSettings) -> None:
    geometry = store.value(KEY)
    if geometry is None or not window.restoreGeometry(geometry):
        window.resize(*FIRST_SIZE)
    if window.width() < SMALLEST_USABLE[0] or window.height() < SMALLEST_USABLE[1]:
        window.resize(*FIRST_SIZE)
    screen = window.screen().availableGeometry() if window.screen() else None
    if screen is not None and (window.width() > screen.width() or window.height() > screen.height()):
        window.resize(min(window.width(), screen.width()), min(window.height(), screen.height()))


def save(window: QWidget, store: QSettings) -> None:
    if QGuiApplication.platformName() != "offscreen":  # a scripted check's 800×600 screen is no user's
        store.setValue(KEY, window.saveGeometry())
