"""Thumbnails for the grid: read from the library's thumbnail store on a small thread pool,
for the cells being painted only, newest request first.

`QImage` is made in the pool and `QPixmap` only in the GUI thread (where Qt requires it; no
test here would catch the mistake, so loader code never names QPixmap outside the GUI-thread
slot). Pixmaps are sized for the screen's device pixel ratio and cached by photo (a video's by
photo and frame: each result shows the frame that matched, else the video's cover); changing
the cell size or the ratio empties the cache. A file that is missing is reported once (`missing`),
so the worker can make it again; until then the cell shows a placeholder.
"""

from __future__ import annotations

import os
import stat
import threading
from collections import OrderedDict, deque

from PySide6.QtCore import QFile, QFileDevice, QIODevice, QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageIOHandler, QImageReader, QPixmap

from photosearch.records import frame_ms, thumbnail_file

from .main_thread import to_main

CACHE_LIMIT = 3000  # pixmaps kept (several screens of cells at the largest size)
THREADS = 2

Key = tuple[int, int]  # photo id, and a video frame's milliseconds (-1: the photo's own thumbnail)


def key_of(photo_id: int, at: float | None) -> Key:
    return (photo_id, -1 if at is None or at < 0 else frame_ms(at))


def read_scaled(path: str, box: QSize) -> QImage | None:
    """An image file read scaled to fit `box` (upright per EXIF), or None if it cannot be read.

    The scaled size is computed from the *stored* size: for an EXIF-rotated file `size()` is the
    stored one and the read returns it upright, so scaling the upright size would distort it.
    Only a regular file is read: a named pipe put in a file's place would block the reading
    thread for ever (the GUI thread, for a preview)."""
    device = _open_regular(path)
    if device is None:
        return None
    reader = QImageReader(device)
    reader.setAutoTransform(True)
    stored = reader.size()
    if not stored.isValid() or stored.isEmpty():
        return None
    swapped = bool(reader.transformation() & QImageIOHandler.Transformation.TransformationRotate90)
    upright = stored.transposed() if swapped else stored
    scaled = upright.scaled(box, Qt.AspectRatioMode.KeepAspectRatio)
    if scaled.width() >= upright.width():  # never enlarge
        scaled = upright
    reader.setScaledSize(scaled.transposed() if swapped else scaled)
    image = reader.read()
    return None if image.isNull() else image


def _open_regular(path: str) -> QFile | None:
    """The file at `path` open for reading if it is a regular file (checked on the open file,
    so nothing can be swapped in between), else None. Opening never waits: a pipe with no
    writer would block a plain open."""
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        regular = stat.S_ISREG(os.fstat(handle).st_mode)
    except OSError:
        regular = False
    device = QFile()
    if not regular or not device.open(handle, QIODevice.OpenModeFlag.ReadOnly, QFileDevice.FileHandleFlag.AutoCloseHandle):
        os.close(handle)
        return None
    return device


class _Drain(QRunnable):
    """Loads queued thumbnails, newest first, until the queue is empty."""

    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self.loader = loader

    def run(self) -> None:
        loader = self.loader
        while True:
            job = loader._next_job()
            if job is None:
                return
            key, paths, box, generation = job
            image = next((found for found in (read_scaled(path, box) for path in paths) if found is not None), None)
            loader.hand_over(key, image, generation)


class ThumbnailLoader(QObject):
    loaded = Signal(int)  # photo id: its pixmap is cached now
    missing = Signal(int)  # photo id: its thumbnail file is missing or unreadable

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = ""
        self.box = QSize(160, 160)
        self.ratio = 1.0
        self._cache: OrderedDict[Key, QPixmap] = OrderedDict()
        self._queue: deque[Key] = deque()
        self._queued: set[Key] = set()
        self._absent: set[int] = set()
        self._lock = threading.Lock()
        self._generation = 0
        self._drains = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(THREADS)

    # -- settings -------------------------------------------------------------------------

    def set_folder(self, folder: str) -> None:
        if folder != self.folder:
            self.folder = folder
            self._reset()

    def set_cell(self, side: int, ratio: float) -> None:
        """Cells of `side` points on a screen of this device pixel ratio."""
        box = QSize(round(side * ratio), round(side * ratio))
        if box != self.box or ratio != self.ratio:
            self.box, self.ratio = box, ratio
            self._reset()

    def _reset(self) -> None:
        with self._lock:
            self._generation += 1
            self._queue.clear()
            self._queued.clear()
        self._cache.clear()
        self._absent.clear()

    # -- the grid's side ------------------------------------------------------------------

    def pixmap(self, photo_id: int, at: float | None = None) -> QPixmap | None:
        """The cached pixmap (of a video's frame `at` seconds), or None after queueing it (at
        the front: it is being painted now)."""
        key = key_of(photo_id, at)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        if not self.folder or photo_id in self._absent:
            return None
        with self._lock:
            if key not in self._queued:
                self._queued.add(key)
                self._queue.append(key)
            start = self._drains < THREADS
            if start:
                self._drains += 1
        if start:
            self._pool.start(_Drain(self))
        return None

    def refresh(self, photo_ids: tuple[int, ...]) -> None:
        """These photos' thumbnails were written anew: read them again when next painted."""
        again = set(photo_ids)
        self._absent -= again
        for key in [key for key in self._cache if key[0] in again]:
            del self._cache[key]

    def forget_pending(self) -> None:
        """Drop queued requests (the cells scrolled away); what is visible asks again on paint."""
        with self._lock:
            self._queue.clear()
            self._queued.clear()

    def busy(self) -> bool:
        with self._lock:
            return bool(self._queue) or self._drains > 0

    def is_absent(self, photo_id: int) -> bool:
        return photo_id in self._absent

    def close(self) -> None:
        self.forget_pending()
        self._pool.waitForDone()

    # -- pool side --------------------------------------------------------------------------

    def _next_job(self) -> tuple[Key, tuple[str, ...], QSize, int] | None:
        with self._lock:
            if not self._queue:
                self._drains -= 1
                return None
            key = self._queue.pop()  # newest first
            photo_id, ms = key
            cover = thumbnail_file(self.folder, photo_id)
            paths = (cover,) if ms < 0 else (thumbnail_file(self.folder, photo_id, ms / 1000), cover)
            return key, paths, QSize(self.box), self._generation

    def hand_over(self, key: Key, image: QImage | None, generation: int) -> None:
        """From a loading thread: the image goes to the GUI thread, where pixmaps are made."""
        to_main(lambda: self._arrived(key, image, generation))

    def _arrived(self, key: Key, image: QImage | None, generation: int) -> None:
        photo_id = key[0]
        with self._lock:
            if generation != self._generation:
                return
            self._queued.discard(key)
        if image is None:
            if photo_id not in self._absent:
                self._absent.add(photo_id)
                self.missing.emit(photo_id)
            return
        pixmap = QPixmap.fromImage(image)
        pixmap.setDevicePixelRatio(self.ratio)
        self._cache[key] = pixmap
        while len(self._cache) > CACHE_LIMIT:
            self._cache.popitem(last=False)
        self.loaded.emit(photo_id)
