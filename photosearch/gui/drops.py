"""What a drop brings, turned into local files: image files as they are, folders to add, image
data saved to a temporary PNG, web addresses fetched off the GUI thread to a temporary file.

Dropped things are only ever read or copied: the drop action is always Copy, and temporary
files live in a folder the window removes when it closes.
"""

from __future__ import annotations

import os
import tempfile
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from PySide6.QtCore import QMimeData, QObject, Signal

from photosearch.records import MEDIA_SUFFIXES

from .main_thread import to_main

FETCH_TIMEOUT_S = 20.0
FETCH_MAX_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class Dropped:
    kind: Literal["image", "folder", "url", "data", "refused"]
    value: str  # a local path, the web address to fetch, or (refused) why it cannot be used


def accepts(mime: QMimeData) -> bool:
    return mime.hasUrls() or mime.hasImage()


def _photo_or_reason(path: str) -> Dropped:
    """A dropped file, taken as a photo only if it can be one (the reason, else)."""
    name = os.path.basename(path)
    if os.path.splitext(path)[1].lower() not in MEDIA_SUFFIXES:
        return Dropped(
            "refused", f"{name} is not a photo or video this app can read (JPEG, PNG, WebP, TIFF, HEIC, AVIF, RAW, MP4, MOV…)"
        )
    try:
        empty = os.path.getsize(path) == 0
    except OSError:
        return Dropped("refused", f"{name} cannot be read")
    return Dropped("refused", f"{name} is empty (0 bytes)") if empty else Dropped("image", path)


def fetch_failure(exc: BaseException) -> str:
    """Why a web picture could not be fetched, in a user's words (not urllib's)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"the site answered {exc.code} ({exc.reason})"
    if isinstance(exc, urllib.error.URLError):
        return "the site cannot be reached (offline, or a wrong address?)"
    if isinstance(exc, TimeoutError):
        return "the site did not answer in time"
    return str(exc) or type(exc).__name__


def what_was_dropped(mime: QMimeData) -> list[Dropped]:
    items: list[Dropped] = []
    for url in mime.urls() if mime.hasUrls() else []:
        if url.isLocalFile():
            path = url.toLocalFile()
            if os.path.isdir(path):
                items.append(Dropped("folder", path))
            elif os.path.isfile(path):
                items.append(_photo_or_reason(path))
        elif url.scheme() in ("http", "https"):
            items.append(Dropped("url", url.toString()))
    if not items and mime.hasImage():
        items.append(Dropped("data", ""))
    return items


class DropStash(QObject):
    """Takes what is dropped on the window: a photo to search by (`photo`, fetched or saved to a
    temporary folder first when it is not a local file), a folder to add (`folder`), or a reason
    it was refused (`notice`)."""

    photo = Signal(str)  # a local photo to search by
    folder_dropped = Signal(str)  # a folder to add to the library
    notice = Signal(str)  # one line for the user: refused, being fetched, could not be fetched

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._folder = tempfile.TemporaryDirectory(prefix="photosearch-drop-")
        self._count = 0
        self._threads: list[threading.Thread] = []

    def take(self, mime: QMimeData) -> bool:
        """Act on everything in the drop; whether anything was taken (else the drop is refused)."""
        taken = False
        for item in what_was_dropped(mime):
            if item.kind == "refused":
                self.notice.emit(item.value)
                continue
            taken = True
            if item.kind == "folder":
                self.folder_dropped.emit(item.value)
            elif item.kind == "image":
                self.photo.emit(item.value)
            elif item.kind == "url":
                self.notice.emit(f"Fetching {item.value}…")
                self.fetch(item.value)
            elif item.kind == "data":
                saved = self.save_image_data(mime)
                if saved:
                    self.photo.emit(saved)
        return taken

    @property
    def folder(self) -> Path:
        return Path(self._folder.name)

    def _new_path(self, suffix: str) -> Path:
        self._count += 1
        return self.folder / f"dropped-{self._count}{suffix}"

    def save_image_data(self, mime: QMimeData) -> str | None:
        """The dropped picture (image data, e.g. from a browser or an editor) as a temporary PNG."""
        from PySide6.QtGui import QImage

        image = mime.imageData()
        if not isinstance(image, QImage) or image.isNull():
            return None
        path = self._new_path(".png")
        return str(path) if image.save(str(path)) else None

    def fetch(self, url: str) -> None:
        """Download a dropped web picture in a thread; `photo` or `notice` follows."""
        suffix = Path(urlparse(url).path).suffix.lower()[:6] or ".img"
        target = self._new_path(suffix)
        thread = threading.Thread(target=self._fetch, args=(url, target), name="drop-fetch", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _fetch(self, url: str, target: Path) -> None:
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "photosearch"})
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:
                data = response.read(FETCH_MAX_BYTES + 1)
            if len(data) > FETCH_MAX_BYTES:
                raise OSError("larger than 100 MB")
            target.write_bytes(data)
        except Exception as exc:  # any network failure is a message, never a crash
            message = f"Cannot fetch the picture from {urlparse(url).netloc or url}: {fetch_failure(exc)}"
            to_main(lambda: self.notice.emit(message))
            return
        to_main(lambda: self.photo.emit(str(target)))

    def close(self) -> None:
        for thread in self._threads:
            thread.join(FETCH_TIMEOUT_S + 1)
        self._folder.cleanup()
