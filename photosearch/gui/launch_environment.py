"""Programs the window starts (the photo viewer, the file manager, a video player, a browser for
a link) get the user's environment back, not the frozen app's.

PyInstaller's bootloader points LD_LIBRARY_PATH at the bundle on Linux (keeping the user's own in
LD_LIBRARY_PATH_ORIG) and sets the DLL directory on Windows; its Qt hook points QT_PLUGIN_PATH,
QML2_IMPORT_PATH and, on macOS, DYLD_LIBRARY_PATH there too. Every program the app starts
inherits them, so the system's viewer would load the bundle's Qt, glib or libstdc++ and crash
or misbehave (PyInstaller's "launching external programs" and its issue #6825). The window's
own process has loaded what it needs by the time it shows, so these are put back once, after
the QApplication exists (its plugin paths fixed first); on Windows the DLL directory is
cleared around each launch instead (DLLs the window still loads later find theirs beside them).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, MutableMapping

# what the bootloader and PyInstaller's Qt hook point at the bundle
BUNDLE_VARIABLES = ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "QT_PLUGIN_PATH", "QML2_IMPORT_PATH")


def user_environment(environ: MutableMapping[str, str], bundle: str) -> list[str]:
    """Put back in `environ` what the user had before the bundle at `bundle` changed it: a
    variable saved as NAME_ORIG is restored, else the bundle's entries are taken out of it (and
    a variable left empty removed). Returns the names changed."""
    changed = []
    inside = os.path.join(os.path.realpath(bundle), "")
    for name in BUNDLE_VARIABLES:
        original = environ.pop(f"{name}_ORIG", None)
        if original is not None:
            environ[name] = original
            changed.append(name)
            continue
        if name not in environ:
            continue
        kept = [p for p in environ[name].split(os.pathsep) if p and not os.path.join(os.path.realpath(p), "").startswith(inside)]
        if kept != environ[name].split(os.pathsep):
            changed.append(name)
            if kept:
                environ[name] = os.pathsep.join(kept)
            else:
                del environ[name]
    return changed


def restore_for_programs_started() -> list[str]:
    """In the frozen app, once its QApplication exists: programs it starts from now on get the
    user's environment. Nothing to do when run from source."""
    bundle = getattr(sys, "_MEIPASS", None)
    if not getattr(sys, "frozen", False) or not bundle:
        return []
    from PySide6.QtCore import QCoreApplication

    QCoreApplication.setLibraryPaths(QCoreApplication.libraryPaths())  # Qt's own plugin paths stay as found
    return user_environment(os.environ, bundle)


@contextlib.contextmanager
def launching() -> Iterator[None]:
    """Around starting a program on Windows: the child does not inherit the bundle's DLL directory."""
    bundle = getattr(sys, "_MEIPASS", None)
    if sys.platform != "win32" or not getattr(sys, "frozen", False) or not bundle:
        yield
        return
    import ctypes

    kernel32 = getattr(ctypes, "windll").kernel32  # noqa: B009 - Windows only: typed on no other platform
    kernel32.SetDllDirectoryW(None)
    try:
        yield
    finally:
        kernel32.SetDllDirectoryW(bundle)
