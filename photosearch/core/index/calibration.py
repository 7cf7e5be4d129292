"""Choose the search breadth (hnswlib's ef) from recall measured on the library's own graph.

HNSW's recall at a given ef depends on the data, the build order and the thread schedule, so a
constant is right for one build and wrong for the next. After a build, a rebuild or a
compaction (and when an index is first opened without one) a sample of queries is searched at
increasing ef and compared with exact search; the smallest ef that reaches the target
recall@10 is kept for each kind of query, unless a search at that ef is slower than that
kind's latency ceiling, in which case the largest ef within it is kept and the recall it
reaches is reported. Searching goes on meanwhile with the previous values.

Image queries are photos of the library ("more like this"), moved off their nodes. Text
queries sit across CLIP's modality gap, away from every photo, where HNSW needs more breadth
for the same recall; a modelled offset misjudged them (docs/benchmarks.md), so they are real
text queries: the user's own recent searches, kept with the library, topped up with everyday
ones encoded by the library's model (`TextSample`); the modelled offset only when neither is
at hand. A text query has already spent time in the text encoder, so its ceiling is what the
keystroke-to-results budget leaves after the encoder (as timed here) and the window's share.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from photosearch.records import SearchCalibration

from .vectors import VectorIndex

TARGET_RECALL = {"image": 0.99, "text": 0.98}
EF_STEPS = (32, 48, 64, 96, 128, 160, 200, 240, 320, 400, 480, 640, 800)
IMAGE_CEILING_S = 0.005  # p95 of one image search (benchmarks/search_latency.py, docs/benchmarks.md)
END_TO_END_S = 0.040  # a typed query's results on screen, from the keystroke (after the debounce)
WINDOW_SHARE_S = 0.010  # of that: the request, the answer and painting the grid
ASSUMED_TEXT_ENCODER_S = 0.020  # one text query through the encoder when not timed here (CPU)
SAMPLE = 200
LEAST_TEXT_QUERIES = SAMPLE // 4  # fewer real text queries than this: no sample of them
METHOD = 2  # a calibration made another way (method 1: modelled text queries, one ceiling) is made again
GAP_NORM = 0.8  # how far a caption's vector sits from the photos it describes (CLIP's modality gap)
K = 10


class CalibrationStopped(Exception):
    """The calibration was asked to stop (the index is closing or being replaced)."""


@dataclass(frozen=True)
class Calibration:
    image: SearchCalibration
    text: SearchCalibration
    seconds: float
    vectors: int = 0  # the graph's size when measured: it is measured again once that doubled
    user_queries: int = 0  # the user's own searches in the text sample: measured again once they doubled
    method: int = METHOD

    def ef(self, kind: str) -> int:
        return self.image.ef if kind == "image" else self.text.ef


@dataclass(frozen=True)
class TextSample:
    """Real text queries to measure with, and how long one took to encode here."""

    vectors: np.ndarray  # the user's own searches first, then everyday ones
    user_queries: int
    encoder_s: float | None = None  # p95 of encoding one query here; None: not timed

    def describe(self) -> str:
        everyday = len(self.vectors) - self.user_queries
        own = f"{self.user_queries} of your searches" if self.user_queries else ""
        return " and ".join(part for part in (own, f"{everyday} everyday ones" if everyday else "") if part)


def text_ceiling_s(encoder_s: float | None) -> float:
    """How long one text search may take: what the keystroke-to-results budget leaves after
    the encoder and the window, never less than an image search's ceiling."""
    encoder = ASSUMED_TEXT_ENCODER_S if encoder_s is None else encoder_s
    return max(IMAGE_CEILING_S, END_TO_END_S - WINDOW_SHARE_S - encoder)


VectorSource = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]


def calibrate(
    index: VectorIndex,
    sample: int = SAMPLE,
    text_sample: TextSample | None = None,
    stop: threading.Event | None = None,
    seed: int = 0,
    ceilings_s: dict[str, float] | None = None,
    vectors: VectorSource | None = None,
) -> Calibration:
    """Measure recall@10 against exact search at increasing ef, for image and text queries.

    `text_sample`: real text queries (else the held-back photos moved across a modelled gap).
    `ceilings_s`: p95 latency per kind (else the image ceiling and what the end-to-end budget
    leaves a text search). `vectors`: where exact search reads the vectors, in (labels,
    vectors) chunks — the catalog, which serves them several times faster than hnswlib hands
    its own back (the default)."""
    started = time.perf_counter()
    images, texts = calibration_queries(index, sample, seed, stop)
    described = "modelled across the gap"
    real = text_sample is not None and len(text_sample.vectors) >= min(sample, LEAST_TEXT_QUERIES)
    if text_sample is not None and real:
        texts, described = _unit(text_sample.vectors[:sample]), text_sample.describe()
    encoder_s = text_sample.encoder_s if text_sample is not None else None
    ceilings = ceilings_s or {"image": IMAGE_CEILING_S, "text": text_ceiling_s(encoder_s)}
    truth = _exact_top(index, np.concatenate([images, texts]), K, stop, vectors)  # one pass over every vector
    return Calibration(
        _sweep("image", index, images, truth[: len(images)], stop, ceilings["image"], f"{len(images)} photos held back"),
        _sweep("text", index, texts, truth[len(images) :], stop, ceilings["text"], described),
        round(time.perf_counter() - started, 2),
        len(index),
        text_sample.user_queries if text_sample is not None and real else 0,
    )


def calibration_queries(
    index: VectorIndex, sample: int = SAMPLE, seed: int = 0, stop: threading.Event | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(image queries, text queries), held back from the graph.

    A vector of the graph is no fair query: the walk that reaches its own node finds its
    neighbours by the graph's own edges, and recall looks better than it is for a new photo.
    So each sampled photo is moved as far as its nearest neighbour lies from it, in a
    random direction: a new photo like it, on no node. Text queries are those moved across the
    modality gap (a fixed offset)."""
    rng = np.random.default_rng(seed)
    labels = index.live_labels()
    picked = np.sort(rng.choice(labels, size=min(sample, len(labels)), replace=False))
    vectors = index.vectors_of(picked)
    # the nearest neighbour only sets a distance: a wide approximate search finds it well enough
    nearest = [index.search(vector, 2, ef=EF_STEPS[-1])[0] for vector in vectors]
    neighbour = np.array([row[row != own][0] for row, own in zip(nearest, picked, strict=True)])
    spacing = np.linalg.norm(vectors - index.vectors_of(neighbour), axis=1, keepdims=True)
    noise = rng.standard_normal(vectors.shape).astype(np.float32)
    images = _unit(vectors + noise / np.linalg.norm(noise, axis=1, keepdims=True) * spacing)
    gap = rng.standard_normal(index.dim).astype(np.float32)
    gap *= np.float32(GAP_NORM) / np.float32(np.linalg.norm(gap))
    return images, _unit(images + gap)


def _unit(vectors: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), dtype=np.float32)


def _exact_top(
    index: VectorIndex, queries: np.ndarray, k: int, stop: threading.Event | None, vectors: VectorSource | None
) -> np.ndarray:
    """The true k nearest live labels of each query, reading the vectors a chunk at a time (a
    million 512-d vectors are 2 GB: never all held at once)."""
    best_labels = np.full((len(queries), k), -1, dtype=np.int64)
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    for chunk, data in vectors() if vectors is not None else _index_chunks(index):
        if stop is not None and stop.is_set():
            raise CalibrationStopped
        live = index.alive(chunk)  # the source may hold a vector the index has not taken in yet
        chunk, data = chunk[live], data[live]
        scores = queries @ data.T
        labels = np.concatenate([best_labels, np.broadcast_to(chunk, (len(queries), len(chunk)))], axis=1)
        scores = np.concatenate([best_scores, scores], axis=1)
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        best_labels = np.take_along_axis(labels, top, axis=1)
        best_scores = np.take_along_axis(scores, top, axis=1)
    return best_labels


def reaches(recalls: Sequence[float], target: float) -> bool:
    """Whether recall measured as these per-query recalls is above `target` with ~90 %
    confidence. Queries differ far more than neighbours do (most find all ten, a few half), so
    the spread is the queries' own: the neighbours' (binomial) spread let a breadth through that
    other queries then found short of the target (docs/benchmarks.md)."""
    values = np.asarray(recalls, dtype=np.float64)
    if len(values) < 2:
        return bool(values.mean() >= target) if len(values) else False
    spread = 1.28 * max(float(values.std(ddof=1)), 1e-6) / math.sqrt(len(values))
    return float(values.mean()) - spread >= target


def _index_chunks(index: VectorIndex) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    live = index.live_labels()
    for start in range(0, len(live), 50_000):
        chunk = live[start : start + 50_000]
        yield chunk, index.vectors_of(chunk)


def _sweep(
    kind: str,
    index: VectorIndex,
    queries: np.ndarray,
    truth: np.ndarray,
    stop: threading.Event | None,
    ceiling_s: float,
    sample: str,
) -> SearchCalibration:
    target = TARGET_RECALL[kind]
    chosen: SearchCalibration | None = None
    for ef in EF_STEPS:
        recalls, times = [], []
        for query, expected in zip(queries, truth, strict=True):
            if stop is not None and stop.is_set():
                raise CalibrationStopped
            t0 = time.perf_counter()
            found, _ = index.search(query, K, ef=ef)
            times.append(time.perf_counter() - t0)
            recalls.append(len(np.intersect1d(found, expected)) / K)
        recall, p95_ms = float(np.mean(recalls)), float(np.percentile(times, 95) * 1000)
        if p95_ms > ceiling_s * 1000 and chosen is not None:
            return dataclasses.replace(chosen, latency_bound=True)
        measured = (round(recall, 4), round(p95_ms, 3), target)
        chosen = SearchCalibration(kind, ef, *measured, latency_bound=False, sample=sample, ceiling_ms=ceiling_s * 1000)
        if reaches(recalls, target):
            return chosen
    assert chosen is not None
    return chosen
