"""A file name as hnswlib's C++ opens it.

hnswlib saves and loads through std::ofstream/std::ifstream with a narrow (char) file name. On
Linux and macOS those bytes are the file system's own (UTF-8 here, whatever os.fsencode gives).
On Windows a narrow name is read in the ANSI code page, not UTF-8: a library under
C:\\Users\\José\\ handed over as UTF-8 bytes is looked for under C:\\Users\\JosÃ©\\ and the
save fails. So on Windows the name goes in the ANSI code page, and a folder whose name that
code page cannot spell (写真 on a Western system) by its short 8.3 name, which is ASCII.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from photosearch.errors import UserError


class UnspellablePath(UserError):
    """Windows cannot hand this path to hnswlib; `str()` says what to do."""


def native_path(path: Path, system: str = sys.platform) -> bytes:
    if system != "win32":
        return os.fsencode(path)
    try:
        return str(path).encode("mbcs")
    except UnicodeEncodeError:
        pass
    short = _short_name(path.parent)
    if short is not None:
        try:
            return f"{short}\\{path.name}".encode("mbcs")
        except UnicodeEncodeError:
            pass
    raise UnspellablePath(
        f"Windows cannot pass the folder {path.parent} to the index library (its name is outside this system's code page "
        "and the drive keeps no short names): use a library folder with another name (--library)"
    )


def _short_name(folder: Path) -> str | None:
    """The folder's 8.3 name (None when the volume keeps none)."""
    try:
        import ctypes

        kernel32 = getattr(ctypes, "windll").kernel32  # noqa: B009 - Windows only
        buffer = ctypes.create_unicode_buffer(32768)
        length = kernel32.GetShortPathNameW(str(folder), buffer, len(buffer))
    except (OSError, AttributeError):
        return None
    return buffer.value if 0 < length < len(buffer) else None
