"""A user's library is theirs alone: what it holds (thumbnails of private photos, their paths,
the logs) is unreadable by other local users, and no other user can take its locks.

Folders the app keeps its data in are made 0700 (also when they already exist, from an older
release or a wide umask): what lies inside is then out of other users' reach whatever its own
mode. New files are made 0600 by the umask each process sets at its start.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

PRIVATE_UMASK = 0o077


def keep_new_files_private() -> None:
    """New files and folders this process makes are its user's alone (POSIX; a process-wide
    setting, made once at each entry point: the command line, the worker, the window)."""
    if sys.platform != "win32":
        os.umask(PRIVATE_UMASK)


def private_folder(path: Path) -> Path:
    """`path` made if missing, and reachable by its owner alone (where this user owns it)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if sys.platform != "win32":
        try:
            info = path.stat()
            if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
                path.chmod(stat.S_IMODE(info.st_mode) & 0o700)
        except OSError:  # a folder this user may not change: its owner decides
            pass
    return path
