"""A crash-proof wrapper around one hnswlib index (cosine space).

hnswlib kills the process on several kinds of bad input (a wrong dimension or dtype, NaNs, a
k above the live count) and is not safe for add+query or save+add at once, so this class:
- is always initialised, and holds one lock around every hnswlib call;
- validates every input before it reaches C++: dimension, dtype (C-contiguous float32),
  finite values, integer labels >= 0, k clamped to the live count;
- tracks which labels are alive itself (hnswlib counts tombstones as elements);
- searches exactly (numpy) when the live set, or a filtered subset, is small, and falls back
  to exact search when HNSW cannot return k results;
- saves to a new file, checks the size, fsyncs and hashes it; the caller renames it into place;
- asks Linux for huge pages under hnswlib's memory (see huge_pages), which makes searches of
  large indexes faster (benchmarks/search_latency.py --compare-pages; docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import hnswlib
import numpy as np

from .huge_pages import advised_bytes_in, huge_bytes_in, huge_pages_for_new_memory
from .mirror import ExactMirror, MirrorSource, top_k
from .native_path import native_path

EXACT_SEARCH_LIMIT = 4096  # below this many live vectors, brute force is as fast and exact
# Above this many results a search is exact: a graph asked for most of the library walks most
# of it (docs/benchmarks.md, "Large result sets"), while one matrix product costs the same for any k.
EXACT_RESULTS_FROM = 2000
# The exact mirror costs dim × 4 bytes per photo; above this many vectors it is not kept, and
# large or filtered searches go through the graph (oversampled and filtered) instead.
MIRROR_MAX_VECTORS = 300_000
# The graph is chosen by benchmarks/search_latency.py at 1M CLIP-like vectors (figures in
# docs/benchmarks.md). How wide a search looks is measured per graph (calibration.py); the two
# breadths below are what a graph not measured yet searches at. Text queries sit across CLIP's
# modality gap, away from every photo, and need about twice the breadth of image queries.
DEFAULT_M = 48
DEFAULT_EF_CONSTRUCTION = 300
DEFAULT_EF = 160
TEXT_QUERY_EF = 320


class IndexCorrupt(Exception):
    """An index file that must not be loaded (wrong size, checksum or header): rebuild instead."""


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


class VectorIndex:
    def __init__(
        self,
        dim: int,
        capacity: int = 1024,
        m: int = DEFAULT_M,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        ef: int = DEFAULT_EF,
        threads: int = 1,
        huge_pages: bool = True,
    ) -> None:
        """`huge_pages`: False only to measure what they bring (benchmarks)."""
        if dim <= 0:
            raise ValueError("dimension must be positive")
        self._set_up(dim, ef, threads, huge_pages)
        with huge_pages_for_new_memory(collapse=False, enabled=huge_pages) as self._huge_spans:  # before it fills
            self._index.init_index(
                max_elements=max(16, capacity), M=m, ef_construction=ef_construction, allow_replace_deleted=False
            )
        self._index.set_ef(ef)
        self._index.set_num_threads(self._threads)
        self._alive = np.zeros(max(16, capacity), dtype=bool)
        self._live = 0
        self._stored = 0  # elements in the graph, tombstones included
        self._mirror: ExactMirror | None = None
        self.mirror_source: MirrorSource | None = None  # where the mirror is filled from (IndexStore: the catalog)
        self.applied_seq = 0  # the newest catalog change this index reflects (set by IndexStore)

    # -- validation -----------------------------------------------------------------------

    def _vectors(self, vectors: np.ndarray) -> np.ndarray:
        array = np.asarray(vectors)
        if array.ndim == 1:
            array = array.reshape(1, -1)
        if array.ndim != 2 or array.shape[1] != self.dim:
            raise ValueError(f"expected vectors of dimension {self.dim}, got shape {array.shape}")
        if not np.issubdtype(array.dtype, np.floating):
            raise ValueError(f"vectors must be floating point, got {array.dtype}")
        array = np.ascontiguousarray(array, dtype=np.float32)
        if not np.isfinite(array).all():
            raise ValueError("vectors contain NaN or infinite values")
        return array

    @staticmethod
    def _labels(labels: Sequence[int] | np.ndarray) -> np.ndarray:
        array = np.asarray(labels)
        if array.ndim != 1:
            raise ValueError("labels must be a flat sequence")
        if array.size and not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"labels must be integers, got {array.dtype}")
        array = array.astype(np.int64, copy=False)
        if array.size and int(array.min()) < 0:
            raise ValueError("labels must be >= 0")
        return array

    # -- state ----------------------------------------------------------------------------

    def _set_up(self, dim: int, ef: int, threads: int, huge_pages: bool) -> None:
        """What a new and a loaded index share: settings, the lock, an empty hnswlib object."""
        self.dim = dim
        self.ef = ef
        self.huge_pages = huge_pages
        self._threads = max(1, threads)
        self._lock = threading.RLock()
        self._index = hnswlib.Index(space="cosine", dim=dim)

    def __len__(self) -> int:
        return self._live

    @property
    def deleted(self) -> int:
        return self._stored - self._live

    def huge_page_bytes(self) -> int:
        """How much of the graph's memory sits on huge pages (0 where the OS gives none)."""
        return huge_bytes_in(self._huge_spans)

    def huge_page_advised_bytes(self) -> int:
        """How much of the graph's memory is advised for huge pages (the kernel backs it when it can)."""
        return advised_bytes_in(self._huge_spans)

    def contains(self, label: int) -> bool:
        return 0 <= label < len(self._alive) and bool(self._alive[label])

    def alive(self, labels: np.ndarray) -> np.ndarray:
        """Which of `labels` are live vectors of this index (a boolean mask)."""
        ids = np.asarray(labels, dtype=np.int64)
        known = (ids >= 0) & (ids < len(self._alive))
        mask = np.zeros(len(ids), dtype=bool)
        mask[known] = self._alive[ids[known]]
        return mask

    def live_labels(self) -> np.ndarray:
        with self._lock:
            return np.flatnonzero(self._alive).astype(np.int64)

    def _grow_alive(self, top: int) -> None:
        if top >= len(self._alive):
            grown = np.zeros(max(top + 1, len(self._alive) * 2), dtype=bool)
            grown[: len(self._alive)] = self._alive
            self._alive = grown

    # -- mutation -------------------------------------------------------------------------

    def add(self, labels: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Insert new labels (labels are never reused; an existing live label is replaced)."""
        ids = self._labels(labels)
        data = self._vectors(vectors)
        if len(ids) != len(data):
            raise ValueError(f"{len(ids)} labels for {len(data)} vectors")
        if len(ids) == 0:
            return
        if len(np.unique(ids)) != len(ids):
            raise ValueError("duplicate labels in one batch")
        with self._lock:
            self._grow_alive(int(ids.max()))
            fresh = ids[~self._alive[ids]]
            if self._mirror is not None:
                if len(fresh) == len(ids):
                    self._mirror.append(ids, data)
                else:  # a replaced vector: the mirror would hold both, so it is filled again on next need
                    self._mirror = None
            needed = self._stored + len(fresh)
            capacity = self._index.get_max_elements()
            if needed > capacity:
                with huge_pages_for_new_memory(collapse=True, enabled=self.huge_pages) as spans:
                    self._index.resize_index(max(needed, capacity * 2))
                self._huge_spans = spans
            self._index.add_items(data, ids, num_threads=self._threads)
            self._alive[ids] = True
            self._live += len(fresh)
            self._stored += len(fresh)

    def remove(self, labels: Sequence[int] | np.ndarray) -> int:
        """Tombstone the live labels among `labels`; returns how many were removed."""
        ids = self._labels(labels)
        removed = 0
        with self._lock:
            for label in ids.tolist():
                if self.contains(label):
                    self._index.mark_deleted(label)
                    self._alive[label] = False
                    removed += 1
            self._live -= removed
            if self._mirror is not None and self._mirror.dead_fraction(self._alive) > 0.25:
                self._mirror = None  # mostly dead rows: filled afresh on next need
        return removed

    def needs_compaction(self, threshold: float = 0.25) -> bool:
        return self._stored > 1000 and self.deleted > threshold * self._stored

    def compacted(self) -> VectorIndex:
        """A fresh index holding only the live vectors (tombstones slow HNSW search down)."""
        with self._lock:
            labels = self.live_labels()
            fresh = VectorIndex(
                self.dim,
                capacity=max(1024, len(labels)),
                m=int(self._index.M),
                ef_construction=int(self._index.ef_construction),
                ef=self.ef,
                threads=self._threads,
                huge_pages=self.huge_pages,
            )
            fresh.applied_seq = self.applied_seq
            fresh.mirror_source = self.mirror_source
            for start in range(0, len(labels), 50_000):
                part = labels[start : start + 50_000]
                fresh.add(part, self._get(part))
            return fresh

    def vectors_of(self, labels: np.ndarray) -> np.ndarray:
        """The stored vectors of live `labels` (a copy)."""
        with self._lock:
            return self._get(self._labels(labels))

    def _get(self, labels: np.ndarray) -> np.ndarray:
        if len(labels) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(self._index.get_items(labels, return_type="numpy"), dtype=np.float32)

    # -- search ---------------------------------------------------------------------------

    def search(
        self,
        query: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        exact: bool = False,
        ef: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(labels, cosine similarities) of the k nearest live vectors, best first.

        `allowed` restricts the search to those labels (a folder, a date range): searched
        exactly over the mirror, or through the graph oversampled and filtered when the library
        is too large to mirror. Small indexes and large result sets (k above
        EXACT_RESULTS_FROM) are searched exactly. `ef` overrides the search breadth for this
        query (text queries need more: see TEXT_QUERY_EF).
        """
        vector = self._vectors(query)
        if len(vector) != 1:
            raise ValueError("search takes one query vector")
        unit = vector[0] / (np.float32(np.linalg.norm(vector[0])) or np.float32(1.0))
        with self._lock:
            if allowed is not None:
                ids = self._labels(allowed)
                ids = ids[ids < len(self._alive)]
                ids = np.unique(ids[self._alive[ids]])
                return self._search_subset(unit, k, ids, ef)
            k = min(int(k), self._live)
            if k <= 0:
                return _no_hits()
            if exact or self._live <= EXACT_SEARCH_LIMIT or k > EXACT_RESULTS_FROM:
                mirror = self._exact_mirror()
                if mirror is not None:
                    return mirror.top(unit, k, self._alive)
            return self._graph_search(unit, k, ef)

    def _graph_search(self, unit: np.ndarray, k: int, ef: int | None) -> tuple[np.ndarray, np.ndarray]:
        breadth = max(int(ef) if ef is not None else self.ef, k)
        for attempt in (breadth, breadth * 4):
            self._index.set_ef(attempt)
            try:
                labels, distances = self._index.knn_query(unit[None], k=k)
                return labels[0].astype(np.int64), (1.0 - distances[0]).astype(np.float32)
            except RuntimeError:  # fewer than k reachable (tombstones): widen, then go exact
                continue
            finally:
                self._index.set_ef(self.ef)
        mirror = self._exact_mirror()
        if mirror is not None:
            return mirror.top(unit, k, self._alive)
        labels = self.live_labels()
        return _top_of(unit, k, labels, self._get(labels))

    def _search_subset(self, unit: np.ndarray, k: int, ids: np.ndarray, ef: int | None) -> tuple[np.ndarray, np.ndarray]:
        k = min(int(k), len(ids))
        if k <= 0:
            return _no_hits()
        mirror = self._exact_mirror()
        if mirror is not None:
            return mirror.top(unit, k, self._alive, allowed=ids)
        if len(ids) <= EXACT_SEARCH_LIMIT:
            return _top_of(unit, k, ids, self._get(ids))
        # a library too large to mirror: ask the graph for enough to keep k after filtering
        wanted = min(self._live, int(k * self._live / len(ids) * 2) + 16)
        labels, scores = self._graph_search(unit, wanted, max(ef or self.ef, wanted))
        keep = np.isin(labels, ids)
        if int(np.count_nonzero(keep)) >= k or wanted >= self._live:
            return labels[keep][:k], scores[keep][:k]
        return _top_of(unit, k, ids, self._get(ids))

    def _exact_mirror(self) -> ExactMirror | None:
        """The mirror, filled on first need; None when the index is too large to mirror."""
        if self._mirror is not None:
            return self._mirror
        if self._live > MIRROR_MAX_VECTORS and self._live > EXACT_SEARCH_LIMIT:
            return None
        mirror = ExactMirror(self.dim, capacity=self._live + 1024)
        if self.mirror_source is not None:
            for labels, vectors in self.mirror_source():
                keep = self.alive(labels)
                mirror.append(labels[keep], vectors[keep])
            if len(mirror) < self._live:  # the catalog is behind the graph (a reader): take the rest from the graph
                have = np.zeros(len(self._alive), dtype=bool)
                have[mirror.labels()] = True
                rest = np.flatnonzero(self._alive & ~have).astype(np.int64)
                mirror.append(rest, self._get(rest))
        else:
            labels = self.live_labels()
            mirror.append(labels, self._get(labels))
        self._mirror = mirror
        return mirror

    # -- persistence ----------------------------------------------------------------------

    def save(self, path: Path) -> tuple[int, str]:
        """Write the index to `path` (a new file), verify its size, fsync; returns (size, sha256)."""
        with self._lock:
            expected = int(self._index.index_file_size())
            self._index.save_index(native_path(path))  # bytes: any file name; reports no errors itself
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise OSError(f"index file {path} was not written (disk full or folder not writable?)") from None
        if size != expected:
            path.unlink(missing_ok=True)
            raise OSError(f"index file {path} is {size} bytes, expected {expected} (disk full?)")
        _fsync_file(path)
        return size, _file_sha256(path)

    @classmethod
    def load(
        cls,
        path: Path,
        dim: int,
        size: int,
        sha256: str,
        alive: np.ndarray,
        expected_deleted: int,
        ef: int = DEFAULT_EF,
        threads: int = 1,
        huge_pages: bool = True,
    ) -> VectorIndex:
        """Load a saved index after checking its size and checksum (corrupt files can segfault hnswlib).

        `alive`: the labels that were live when it was saved; every other label in the file is a
        tombstone, and there must be exactly `expected_deleted` of those.
        """
        try:
            actual = path.stat().st_size
        except OSError:
            raise IndexCorrupt(f"index file {path} is missing") from None
        if actual != size:
            raise IndexCorrupt(f"index file {path} is {actual} bytes, expected {size}")
        if _file_sha256(path) != sha256:
            raise IndexCorrupt(f"index file {path} does not match its checksum")
        self = cls.__new__(cls)
        self._set_up(dim, ef, threads, huge_pages)
        try:
            with huge_pages_for_new_memory(collapse=True, enabled=huge_pages) as self._huge_spans:  # filled by the load
                self._index.load_index(native_path(path), allow_replace_deleted=False)
        except (RuntimeError, MemoryError, ValueError) as exc:
            raise IndexCorrupt(f"index file {path} cannot be read ({exc})") from None
        if self._index.dim != dim:
            raise IndexCorrupt(f"index file {path} has dimension {self._index.dim}, expected {dim}")
        self._index.set_ef(ef)
        self._index.set_num_threads(self._threads)
        self._stored = int(self._index.get_current_count())
        ids = np.unique(cls._labels(alive))
        in_file = np.asarray(self._index.get_ids_list(), dtype=np.int64)
        if not np.isin(ids, in_file).all() or self._stored - len(ids) != expected_deleted:
            raise IndexCorrupt(f"index file {path} does not hold the vectors the catalog recorded for it")
        self._alive = np.zeros(max(16, int(ids.max()) + 1 if len(ids) else 16), dtype=bool)
        self._alive[ids] = True
        self._live = len(ids)
        self._mirror = None
        self.mirror_source = None
        self.applied_seq = 0
        return self


def _no_hits() -> tuple[np.ndarray, np.ndarray]:
    return top_k(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), 0)


def _top_of(unit: np.ndarray, k: int, labels: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact top k of `labels` whose vectors are the rows of `matrix`."""
    return top_k(labels, matrix @ unit, k)
