"""Which Qt platform the window opens on, where Qt's own choice would fail.

On a Wayland session Qt 6 tries its Wayland plugin first. The installers ship only X11's (xcb):
Wayland's would add its libraries and its compositor quirks for nothing that XWayland, present
on every Wayland desktop that runs X11 apps, does not already give. Left to Qt, such a session
prints a warning and falls back, or, with no XWayland, aborts with a message about plugins. So
when the Wayland plugin is missing: X11 through XWayland when there is a DISPLAY, else one line
that says what is missing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path


class NoUsableDisplay(Exception):
    """The session offers only what this build cannot draw on; `str()` says what to install."""


def platform_for(environ: Mapping[str, str], has_plugin: Callable[[str], bool], system: str = sys.platform) -> str | None:
    """The QT_QPA_PLATFORM to set, or None to leave Qt's own choice."""
    if environ.get("QT_QPA_PLATFORM") or not system.startswith("linux"):
        return None
    wayland = bool(environ.get("WAYLAND_DISPLAY")) or environ.get("XDG_SESSION_TYPE") == "wayland"
    if not wayland or has_plugin("wayland"):
        return None
    if environ.get("DISPLAY"):
        return "xcb"
    raise NoUsableDisplay(
        "this Wayland session has no X11 display (DISPLAY is unset), and this build draws through X11: install XWayland"
    )


def bundled_platform(name: str) -> bool:
    """Whether Qt's platform plugin `name` is there to load."""
    from PySide6.QtCore import QLibraryInfo

    folder = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    return any(folder.glob(f"*q{name}*"))
