"""The indexing pipeline: decode in parallel threads, overlapped with batched inference.

Decoding (Pillow, C code that releases the GIL) runs in a small thread pool a bounded number
of photos ahead of the model, so memory stays flat whatever the library size; the calling
thread embeds full batches and commits each batch to the catalog in one transaction, then
lets the index replay it. An interruption (cancel, crash, SIGKILL) loses at most the batch in
flight: everything committed is durable, everything else is still 'pending' and is picked up
by the next run.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from photosearch.records import IndexReport, Progress, kind_of_path

from . import decode_guard
from .catalog import Catalog, Embedded, PendingPhoto, Skip
from .cpu import DECODE_NICE, decode_threads, make_current_thread_background
from .decode_guard import DecodeGuard
from .fingerprint import fingerprint_of
from .images import DecodeError, PhotoInfo, read_error_reason
from .index.store import IndexStore
from .media import decode_media
from .memory_budget import SHARED_BUDGET, MemoryBudget
from .thumbnails import THUMBNAIL_SIZE, ThumbnailStore

log = logging.getLogger(__name__)

PENDING_CHUNK = 2000  # photos fetched from the catalog at a time (bounds memory for huge imports)


@dataclass(frozen=True)
class _Decoded:
    photo: PendingPhoto
    pixels: np.ndarray  # (size, size, 3); a video's (frames, size, size, 3)
    info: PhotoInfo
    fingerprint: str
    thumbnail: bool  # written to the thumbnail store
    frames: tuple[float, ...] | None = None  # a video's frame times

    @property
    def pictures(self) -> int:
        return 1 if self.frames is None else len(self.frames)


@dataclass(frozen=True)
class _Failed:
    photo: PendingPhoto
    reason: str
    retry: bool  # the cause lies outside the file: try again at the next scan


def _decode(
    photo: PendingPhoto, size: int, budget: MemoryBudget, thumbnails: ThumbnailStore | None, guard: DecodeGuard | None
) -> _Decoded | _Failed:
    """Fingerprint, decode and make the thumbnail from one open: the file is read once (a RAW or
    a video is read again by its own library, after the fingerprint, under the `guard`)."""
    try:
        with open(photo.path, "rb") as handle:
            print_ = fingerprint_of(handle)
            handle.seek(0)
            guarded = guard is not None and kind_of_path(photo.path) in ("raw", "video")
            with guard.decoding(photo.id) if guarded else contextlib.nullcontext():  # type: ignore[union-attr]
                decoded = decode_media(photo.path, size, budget, THUMBNAIL_SIZE if thumbnails else 0, opened=handle)
        written = False
        if thumbnails is not None:
            try:
                written = decoded.write_thumbnails(thumbnails, photo.id)
            except OSError as exc:  # a full disk costs the thumbnail, never the photo's place in search
                log.warning("cannot write the thumbnail of %s: %s", photo.path, exc)
        return _Decoded(photo, decoded.pixels, decoded.info, print_, written, decoded.frames)
    except DecodeError as exc:
        return _Failed(photo, str(exc), exc.retry)
    except OSError as exc:  # opening or fingerprinting failed: the file went away or became unreadable
        return _Failed(photo, read_error_reason(exc), retry=True)


class Encoder(Protocol):
    """What the pipeline needs from an embedder (kept small so benchmarks can wrap it)."""

    image_size: int

    def encode_images(self, pixels: np.ndarray) -> np.ndarray: ...


class Indexer:
    def __init__(
        self,
        catalog: Catalog,
        store: IndexStore,
        encoder: Encoder,
        model: str,
        batch_size: int = 32,
        decode_workers: int | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
        before_batch: Callable[[], None] | None = None,
        on_skipped: Callable[[str, str], None] | None = None,
        final_save: bool = True,
        decode_budget: int | None = None,
        thumbnails: ThumbnailStore | None = None,
        after_commit: Callable[[int], object] | None = None,
        guard: DecodeGuard | None = None,
    ) -> None:
        """`before_batch` runs before each inference (the worker applies its jobs and yields to
        queries there); `after_commit(n)` after each batch of n photos is in the catalog (the
        library groups the arrivals' duplicates there); `final_save` writes an index snapshot
        at the end (else only when due);
        `decode_budget`: bytes that all decode threads together may hold for pixels at once
        (None: the process's shared budget, which every other decode counts against too);
        `thumbnails`: where the same decode writes each photo's thumbnail (None: no thumbnails,
        e.g. benchmarks of the model alone); `guard`: where RAW and video decodes leave their
        marks (core/decode_guard.py; None: unguarded). Decode threads run below the calling
        thread (DECODE_NICE), so the model never waits on a thread of its own that a decoder
        displaced."""
        self.catalog = catalog
        self.store = store
        self.encoder = encoder
        self.model = model
        self.batch_size = max(1, batch_size)
        self.decode_workers = decode_workers or decode_threads()
        self.on_progress = on_progress
        self.cancel = cancel or threading.Event()
        self.before_batch = before_batch
        self.on_skipped = on_skipped
        self.budget = SHARED_BUDGET if decode_budget is None else MemoryBudget(decode_budget)
        self.final_save = final_save
        self.thumbnails = thumbnails
        self.after_commit = after_commit
        self.guard = guard

    def run(self) -> IndexReport:
        started = time.monotonic()
        done = skipped = 0
        last_report = 0.0

        def report(force: bool = False) -> None:
            nonlocal last_report
            now = time.monotonic()
            if self.on_progress is None or (not force and now - last_report < 0.2):
                return
            last_report = now
            # photos may become pending during the run (the worker's watcher): count them in
            total = done + self.catalog.pending_count()
            rate = done / max(1e-6, now - started)
            eta = (total - done) / rate if rate > 0 else None
            self.on_progress(Progress(done, total, skipped, rate, eta))

        self._skip_crashers()
        report(force=True)
        cancelled = False
        batch: list[_Decoded] = []
        failures: list[_Failed] = []
        with ThreadPoolExecutor(
            self.decode_workers, thread_name_prefix="decode", initializer=lambda: make_current_thread_background(DECODE_NICE)
        ) as pool:
            decoded = _DecodeQueue(
                self.catalog,
                pool,
                self.encoder.image_size,
                self.budget,
                ahead=self.batch_size * 2 + self.decode_workers * 2,
                thumbnails=self.thumbnails,
                guard=self.guard,
            )
            try:
                for item in decoded:
                    if self.cancel.is_set():
                        cancelled = True
                        break
                    if isinstance(item, _Failed):
                        failures.append(item)
                    else:
                        batch.append(item)
                    if sum(b.pictures for b in batch) >= self.batch_size or len(failures) >= 256:
                        done, skipped = done + len(batch) + len(failures), skipped + len(failures)
                        self._commit(batch, failures)
                        batch, failures = [], []
                        report()
            finally:
                decoded.cancel()
        # what was decoded before a cancel (or the end) is kept, too
        done, skipped = done + len(batch) + len(failures), skipped + len(failures)
        self._commit(batch, failures)
        if self.final_save:
            self.store.save()
        else:
            self.store.maybe_save()
        report(force=True)
        return IndexReport(done - skipped, skipped, time.monotonic() - started, cancelled)

    def _skip_crashers(self) -> None:
        """Pending files whose decode killed the process twice are skipped, with the reason."""
        if self.guard is None:
            return
        crashed = set(self.guard.crashed())
        if not crashed:
            return
        pending = [photo for photo in self.catalog.pending() if photo.id in crashed]
        self.catalog.commit_results(self.model, [], [Skip(photo, decode_guard.REASON) for photo in pending])
        self.guard.forget(sorted(crashed))
        for photo in pending:
            log.warning("skipped %s: %s", photo.path, decode_guard.REASON)
            if self.on_skipped is not None:
                self.on_skipped(photo.path, decode_guard.REASON)

    def _encode(self, pixels: np.ndarray) -> tuple[np.ndarray, str]:
        """Vectors and the image graph that made them (an encoder without `index_images`,
        such as a benchmark's wrapper, is exact)."""
        index_images = getattr(self.encoder, "index_images", None)
        if index_images is not None:
            vectors, graph = index_images(pixels)
            return vectors, str(graph)
        return self.encoder.encode_images(pixels), "exact"

    def _commit(self, batch: list[_Decoded], failures: list[_Failed]) -> None:
        if not batch and not failures:
            return
        if self.before_batch is not None and batch:
            self.before_batch()
        batch = sorted(batch, key=lambda b: b.frames is not None)  # photos before videos, here too
        pictures = np.concatenate([b.pixels.reshape(-1, *b.pixels.shape[-3:]) for b in batch]) if batch else None
        vectors, graph = self._encode(pictures) if pictures is not None else (np.zeros((0, 0)), "exact")
        ends = np.cumsum([b.pictures for b in batch])
        embedded = [
            Embedded(
                b.photo,
                vectors[end - 1] if b.frames is None else vectors[end - b.pictures : end],
                b.fingerprint,
                b.info.width,
                b.info.height,
                b.info.taken,
                b.thumbnail,
                b.info.look,
                b.frames,
                b.info.duration,
            )
            for b, end in zip(batch, ends.tolist(), strict=True)
        ]
        self.catalog.commit_results(self.model, embedded, [Skip(f.photo, f.reason, f.retry) for f in failures], graph)
        if self.after_commit is not None and embedded:
            self.after_commit(len(embedded))
        if self.on_skipped is not None:
            for failure in failures:
                self.on_skipped(failure.photo.path, failure.reason)
        self.store.refresh()
        self.store.maybe_save()


class _DecodeQueue:
    """Pending files, decoded by the pool at most `ahead` in front of the consumer, handed over
    as they finish. Photos go first; videos after them, a few at a time (each holds many
    frames), and photos that arrive meanwhile go before the next video: a long video never
    holds up the photos around it."""

    def __init__(
        self,
        catalog: Catalog,
        pool: ThreadPoolExecutor,
        size: int,
        budget: MemoryBudget,
        ahead: int,
        thumbnails: ThumbnailStore | None = None,
        videos_ahead: int = 2,
        guard: DecodeGuard | None = None,
    ) -> None:
        self.catalog = catalog
        self.thumbnails = thumbnails
        self.guard = guard
        self.pool = pool
        self.size = size
        self.budget = budget
        self.ahead = max(1, ahead)
        self.videos_ahead = max(1, videos_ahead)
        self.in_flight: set[Future[_Decoded | _Failed]] = set()
        self.videos_in_flight: set[Future[_Decoded | _Failed]] = set()
        self.stills: deque[PendingPhoto] = deque()
        self.videos: deque[PendingPhoto] = deque()
        self.after_still = self.after_video = 0

    def _fetch_stills(self) -> None:
        if not self.stills:
            chunk = self.catalog.pending(self.after_still, PENDING_CHUNK, videos=False)
            if chunk:
                self.after_still = chunk[-1].id
                self.stills.extend(chunk)

    def _fetch_videos(self) -> None:
        if not self.videos:
            chunk = self.catalog.pending(self.after_video, 100, videos=True)
            if chunk:
                self.after_video = chunk[-1].id
                self.videos.extend(chunk)

    def _submit(self, photo: PendingPhoto) -> Future[_Decoded | _Failed]:
        future = self.pool.submit(_decode, photo, self.size, self.budget, self.thumbnails, self.guard)
        self.in_flight.add(future)
        return future

    def _fill(self) -> None:
        self._fetch_stills()
        while self.stills and len(self.in_flight) < self.ahead:
            self._submit(self.stills.popleft())
            self._fetch_stills()
        if self.stills:
            return
        self._fetch_videos()
        while self.videos and len(self.videos_in_flight) < self.videos_ahead and len(self.in_flight) < self.ahead:
            self.videos_in_flight.add(self._submit(self.videos.popleft()))
            self._fetch_videos()

    def __iter__(self) -> Iterator[_Decoded | _Failed]:
        while True:
            self._fill()
            if not self.in_flight:
                return
            done, _ = wait(self.in_flight, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: _order(f.result())):
                self.in_flight.discard(future)
                self.videos_in_flight.discard(future)
                yield future.result()

    def cancel(self) -> None:
        for future in self.in_flight:
            future.cancel()


def _order(item: _Decoded | _Failed) -> int:
    return item.photo.id
