"""A plain float32 copy of the index's vectors, for exact search where HNSW is the wrong tool.

Exact search over a matrix is one matrix-vector product, whatever k: it beats the graph for
very large result sets (the whole library sorted by relevance, for a grid) and for filtered
subsets (a folder, a date range). hnswlib hands its vectors back only through a slow per-item
copy, so the mirror is filled from the catalog (its source) once, on first need, and then kept
up by every add; removed labels stay in it as dead rows, masked by the index's live set, until
they are a quarter of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

MirrorSource = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]


class ExactMirror:
    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.dim = dim
        self._labels = np.zeros(max(16, capacity), dtype=np.int64)
        self._matrix = np.zeros((max(16, capacity), dim), dtype=np.float32)
        self._rows = 0
        self._sorted = True

    def __len__(self) -> int:
        return self._rows

    def labels(self) -> np.ndarray:
        return self._labels[: self._rows]

    @property
    def nbytes(self) -> int:
        return int(self._matrix.nbytes + self._labels.nbytes)

    def append(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        count = len(labels)
        if count == 0:
            return
        needed = self._rows + count
        if needed > len(self._labels):
            grown = max(needed, len(self._labels) * 2)
            self._labels = np.resize(self._labels, grown)
            matrix = np.zeros((grown, self.dim), dtype=np.float32)
            matrix[: self._rows] = self._matrix[: self._rows]
            self._matrix = matrix
        if self._rows and int(labels.min()) <= int(self._labels[self._rows - 1]):
            self._sorted = False
        self._labels[self._rows : needed] = labels
        self._matrix[self._rows : needed] = vectors
        self._rows = needed

    def dead_fraction(self, alive: np.ndarray) -> float:
        if not self._rows:
            return 0.0
        return 1.0 - float(np.count_nonzero(self._alive_mask(alive))) / self._rows

    def _alive_mask(self, alive: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        labels = self._labels[: self._rows] if labels is None else labels
        known = labels < len(alive)
        mask = np.zeros(len(labels), dtype=bool)
        mask[known] = alive[labels[known]]
        return mask

    def _ensure_sorted(self) -> None:
        if self._sorted:
            return
        order = np.argsort(self._labels[: self._rows], kind="stable")
        self._labels[: self._rows] = self._labels[: self._rows][order]
        self._matrix[: self._rows] = self._matrix[: self._rows][order]
        self._sorted = True

    def top(
        self, query: np.ndarray, k: int, alive: np.ndarray, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(labels, cosine similarities) of the k best live rows (of `allowed` only, if given:
        sorted unique labels). `query` is a unit vector."""
        self._ensure_sorted()
        labels = self._labels[: self._rows]
        if allowed is not None:
            rows = np.searchsorted(labels, allowed)
            inside = rows < self._rows
            rows = rows[inside][labels[rows[inside]] == allowed[inside]]
            candidates, matrix = labels[rows], self._matrix[rows]
        else:
            candidates, matrix = labels, self._matrix[: self._rows]
        live = self._alive_mask(alive, candidates)
        scores = np.where(live, matrix @ query, -np.inf).astype(np.float32)
        return top_k(candidates, scores, min(int(k), int(np.count_nonzero(live))))


def top_k(labels: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best-scoring (labels, scores), best first: a partial sort, then a sort of k."""
    k = min(int(k), len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    best = best[np.argsort(-scores[best], kind="stable")]
    return labels[best], scores[best].astype(np.float32, copy=False)
