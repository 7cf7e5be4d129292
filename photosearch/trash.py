"""Moving photos to the system trash, and back: never a permanent delete.

On Linux and the other freedesktop systems the Trash specification is followed here, so that
undo knows exactly where each file went: the home trash for a file on the home's filesystem,
else the trash at the top of the file's own filesystem (`.Trash/UID` where the administrator
made one, sticky and not a link; else `.Trash-UID`), never a copy across filesystems. Each
name is reserved by creating its `.trashinfo` exclusively before the file is moved. On Windows
and macOS the system's own call moves the file (Send2Trash); undo finds it again where macOS
puts it (~/.Trash) and says to use the Recycle Bin on Windows.
"""

from __future__ import annotations

import os
import stat
import sys
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


class TrashError(Exception):
    """A file could not be moved to the trash or back (the reason is one line for the user)."""


@dataclass(frozen=True)
class Trashed:
    original: Path
    location: Path | None  # where it lies in the trash; None where the platform does not say
    info: Path | None = None  # its .trashinfo (freedesktop)


def move_to_trash(path: Path) -> Trashed:
    path = Path(os.path.abspath(path))
    if not os.path.lexists(path):
        raise TrashError(f"{path} is no longer there")
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return _freedesktop_trash(path)
    return _system_trash(path)


def restore(item: Trashed) -> None:
    """Put a trashed file back where it was (its folder made again if it went too)."""
    if os.path.lexists(item.original):
        raise TrashError(f"{item.original} exists again: the trashed copy stays in the trash")
    location = item.location or _found_in_mac_trash(item.original)
    if location is None or not os.path.lexists(location):
        raise TrashError(f"{item.original.name} is no longer in the trash (restore it from the system's trash)")
    try:
        item.original.parent.mkdir(parents=True, exist_ok=True)
        os.rename(location, item.original)
    except OSError as exc:
        raise TrashError(f"cannot put {item.original.name} back: {exc.strerror or exc}") from None
    if item.info is not None:
        item.info.unlink(missing_ok=True)


# -- freedesktop ----------------------------------------------------------------------------


def _freedesktop_trash(path: Path) -> Trashed:
    device = os.lstat(path).st_dev
    home_trash = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "Trash"
    if _device_of_nearest(home_trash) == device:
        trash, shown = home_trash, str(path)
    else:
        top = _mount_point(path)
        trash = _top_trash(top)
        shown = os.path.relpath(path, top)
    try:
        for folder in (trash / "files", trash / "info"):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        info, location = _reserve(trash, path.name, shown)
    except OSError as exc:
        raise TrashError(f"cannot use the trash at {trash}: {exc.strerror or exc}") from None
    try:
        os.rename(path, location)
    except OSError as exc:
        info.unlink(missing_ok=True)
        raise TrashError(f"cannot move {path.name} to the trash: {exc.strerror or exc}") from None
    return Trashed(path, location, info)


def _reserve(trash: Path, name: str, shown: str) -> tuple[Path, Path]:
    """Create NAME.trashinfo exclusively (NAME.2, NAME.3 … when taken): the name is ours."""
    stem, suffix = os.path.splitext(name)
    record = (
        f"[Trash Info]\nPath={urllib.parse.quote(shown, safe='/')}\nDeletionDate={datetime.now().strftime('%Y-%m-%dT%H:%M:%S')}\n"
    )
    for attempt in range(1, 10_000):
        candidate = name if attempt == 1 else f"{stem}.{attempt}{suffix}"
        info = trash / "info" / f"{candidate}.trashinfo"
        if os.path.lexists(trash / "files" / candidate):
            continue
        try:
            descriptor = os.open(info, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(record)
        return info, trash / "files" / candidate
    raise OSError("no free name in the trash")


def _device_of_nearest(path: Path) -> int:
    """The device of `path`, or of its nearest folder that exists (the trash may not yet)."""
    for candidate in (path, *path.parents):
        try:
            return os.stat(candidate).st_dev
        except OSError:
            continue
    return -1


def _mount_point(path: Path) -> Path:
    device = os.lstat(path).st_dev
    current = path.parent
    while current != current.parent and os.stat(current.parent).st_dev == device:
        current = current.parent
    return current


def _top_trash(top: Path) -> Path:
    """`.Trash/UID` when the administrator made `.Trash` (sticky, not a link), else `.Trash-UID`."""
    uid = os.getuid()
    shared = top / ".Trash"
    try:
        mode = os.lstat(shared).st_mode
        if stat.S_ISDIR(mode) and mode & stat.S_ISVTX:
            return shared / str(uid)
    except OSError:
        pass
    return top / f".Trash-{uid}"


# -- Windows and macOS ----------------------------------------------------------------------


def _system_trash(path: Path) -> Trashed:
    try:
        from send2trash import send2trash
    except ImportError:
        raise TrashError("moving to the trash needs the Send2Trash package, which is missing") from None
    try:
        send2trash(str(path))
    except OSError as exc:
        raise TrashError(f"cannot move {path.name} to the trash: {exc}") from None
    return Trashed(path, None)


def _found_in_mac_trash(original: Path) -> Path | None:
    if sys.platform != "darwin":
        return None
    candidate = Path.home() / ".Trash" / original.name
    return candidate if candidate.exists() else None
