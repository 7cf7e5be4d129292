"""Whether int8 image vectors can stand in for exact ones: measured as a user would notice it.

A per-photo cosine says how far each vector moved; what a user sees is whether a search still
finds the same photos. So the agreement is measured both ways on one set of photos: the least
and mean cosine of each photo's int8 vector to its exact one, and recall@k of searches over
the int8 vectors against the same searches over the exact ones, for text queries (encoded
exactly: the text tower is never quantised) and for image queries (each photo in turn, encoded
by the graph under test, as a "more like this" query is).

As in ann-benchmarks, a photo found counts when its exact score is within `TIE` of the k-th
best exact score: photos that score the same to a thousandth (a burst, eleven red circles) are
equally good answers, and which of them comes tenth is not a disagreement a user could see.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

RECALL_BAR = 0.98  # the least recall@10, text and image queries alike, for int8 to be used
K = 10
LEAST_PHOTOS = 50  # fewer photos than this say too little (recall@10 over a handful is noise)
TIE = 1e-3  # exact scores this close to the k-th best count as found (ann-benchmarks' epsilon)


@dataclass(frozen=True)
class Agreement:
    photos: int
    cosine_least: float
    cosine_mean: float
    text_recall: float  # recall@K of text searches over int8 vectors, against exact ones
    image_recall: float  # the same for image queries
    k: int = K

    @property
    def holds(self) -> bool:
        """Whether int8 searches find what exact ones find (on enough photos to say so)."""
        return self.photos >= LEAST_PHOTOS and min(self.text_recall, self.image_recall) >= RECALL_BAR

    def why_not(self) -> str:
        """Why int8 is not used, in one line ("" when it is)."""
        if self.photos < LEAST_PHOTOS:
            return f"only {self.photos} photos to compare (at least {LEAST_PHOTOS} are needed)"
        if self.holds:
            return ""
        return (
            f"int8 searches agree with exact ones too little: recall@{self.k} {self.text_recall:.3f} (text), "
            f"{self.image_recall:.3f} (photos), below {RECALL_BAR}"
        )

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)


def measure(exact: np.ndarray, int8: np.ndarray, text_queries: np.ndarray, k: int = K) -> Agreement:
    """`exact` and `int8`: the same photos' unit vectors, row for row; `text_queries`: unit
    text vectors. Image queries leave the query photo itself out of its results."""
    exact = np.asarray(exact, dtype=np.float32)
    int8 = np.asarray(int8, dtype=np.float32)
    if exact.shape != int8.shape or exact.ndim != 2:
        raise ValueError(f"vectors of shapes {exact.shape} and {int8.shape} cannot be compared")
    count = len(exact)
    cosines = (exact * int8).sum(axis=1) / np.maximum(np.linalg.norm(exact, axis=1) * np.linalg.norm(int8, axis=1), 1e-12)
    k = min(k, max(1, count - 1))
    text = _recall(text_queries @ exact.T, text_queries @ int8.T, k) if len(text_queries) else 1.0
    exact_pairs, int8_pairs = exact @ exact.T, int8 @ int8.T
    np.fill_diagonal(exact_pairs, -np.inf)
    np.fill_diagonal(int8_pairs, -np.inf)
    image = _recall(exact_pairs, int8_pairs, k) if count > 1 else 1.0
    return Agreement(
        photos=count,
        cosine_least=round(float(cosines.min()), 6) if count else 1.0,
        cosine_mean=round(float(cosines.mean()), 6) if count else 1.0,
        text_recall=round(text, 4),
        image_recall=round(image, 4),
        k=k,
    )


def _recall(exact_scores: np.ndarray, int8_scores: np.ndarray, k: int) -> float:
    """Mean share of each query's k int8 results that are among its exact best k (ties within
    TIE of the k-th exact score included)."""
    kth = -np.partition(-exact_scores, k - 1, axis=1)[:, k - 1 : k]
    found = np.argpartition(-int8_scores, k - 1, axis=1)[:, :k]
    good = np.take_along_axis(exact_scores, found, axis=1) >= kth - TIE
    return float(good.mean())
