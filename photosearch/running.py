"""Windows: every process of an installed photosearch holds a named mutex, so its installer and
uninstaller can see that it runs and refuse to replace or remove its files meanwhile (an
upgrade under a running app leaves a mix of two versions). Elsewhere, nothing: a `.deb` or an
`.app` is replaced whole, and what runs keeps its files open."""

from __future__ import annotations

import sys

MUTEX_NAME = "photosearch-running"  # installers/windows/photosearch.nsi names it too

_held: list[object] = []  # the handle, kept for the life of the process (closed by Windows at exit)


def announce() -> None:
    if sys.platform != "win32" or _held:
        return
    try:
        import ctypes

        handle = getattr(ctypes, "windll").kernel32.CreateMutexW(None, False, MUTEX_NAME)  # noqa: B009 - Windows only
    except (OSError, AttributeError):
        return  # an installer that cannot see the app running is no reason for the app not to run
    if handle:
        _held.append(handle)
