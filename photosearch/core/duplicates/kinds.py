"""What makes two photos duplicates, of which kind, at which strictness.

A candidate pair carries what was measured on it (`Measures`); its kind is decided when read,
so changing the strictness needs no new measurement. Three kinds, kept apart:
- exact: the same bytes;
- same: the same photo in another form (resized, recompressed, another format, lightly cropped
  or edited, stored with another EXIF rotation): its look (perceptual hash) barely moved and
  the model sees the same thing;
- burst: different shots of one moment: taken seconds apart (EXIF times), a look that moved
  more, the same scene to the model.
Two different photos of similar things (two red cars) are none of these: their looks lie
about as far apart as unrelated photos', whatever the model says. The thresholds come from
benchmarks/duplicate_pairs.py (figures in docs/duplicates.md).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from photosearch.records import DEFAULT_DUPLICATE_STRICTNESS, DUPLICATE_KINDS, DUPLICATE_STRICTNESS


class Kind(enum.Enum):
    EXACT = "exact"
    SAME = "same"
    BURST = "burst"


@dataclass(frozen=True)
class Measures:
    same_bytes: bool
    cosine: float  # the model's similarity of the two photos
    look_distance: int | None  # bits apart of the two looks (None: a look is missing)
    seconds_apart: float | None  # between their EXIF capture times (None: a time is missing)


@dataclass(frozen=True)
class Thresholds:
    same_look: int  # at most this many bits apart
    same_cosine: float
    burst_look: int
    burst_cosine: float
    burst_seconds: float


STRICTNESS = {  # 1 strictest … 4 loosest
    1: Thresholds(same_look=8, same_cosine=0.90, burst_look=12, burst_cosine=0.95, burst_seconds=2.0),
    2: Thresholds(same_look=12, same_cosine=0.80, burst_look=16, burst_cosine=0.90, burst_seconds=5.0),
    3: Thresholds(same_look=14, same_cosine=0.60, burst_look=20, burst_cosine=0.85, burst_seconds=15.0),
    4: Thresholds(same_look=16, same_cosine=0.40, burst_look=24, burst_cosine=0.80, burst_seconds=60.0),
}
DEFAULT_STRICTNESS = DEFAULT_DUPLICATE_STRICTNESS
assert tuple(STRICTNESS) == tuple(DUPLICATE_STRICTNESS) and tuple(k.value for k in Kind) == DUPLICATE_KINDS
# a graph neighbour less similar than this is no candidate at any strictness
CANDIDATE_COSINE = min(min(t.same_cosine, t.burst_cosine) for t in STRICTNESS.values())


@dataclass(frozen=True)
class MeasuredPairs:
    """Many pairs' measures as columns (a look or a time that is missing: NaN)."""

    same_bytes: np.ndarray  # bool
    cosine: np.ndarray  # float32
    look_distance: np.ndarray  # float32
    seconds_apart: np.ndarray  # float64

    @classmethod
    def of(cls, measures: Sequence[Measures]) -> MeasuredPairs:
        return cls(
            np.array([m.same_bytes for m in measures], dtype=bool),
            np.array([m.cosine for m in measures], dtype=np.float32),
            np.array([np.nan if m.look_distance is None else m.look_distance for m in measures], dtype=np.float32),
            np.array([np.nan if m.seconds_apart is None else m.seconds_apart for m in measures], dtype=np.float64),
        )


NOT_DUPLICATES = -1  # a pair's rank when it is none of the kinds


def ranks_of(pairs: MeasuredPairs, strictness: int = DEFAULT_STRICTNESS) -> np.ndarray:
    """Each pair's kind at `strictness` as its place in Kind's order (exact 0, same 1, burst 2),
    or NOT_DUPLICATES. Decided for all pairs at once: a library's pairs are read as columns.

    The look decides; the model's similarity only guards against two unrelated pictures whose
    looks happen to agree. Two photos whose capture times differ by a second or more are two
    shots, never the same photo (an edited or converted copy keeps its time or has none). A
    pair without both looks has no pixel-level evidence: the model alone decides nothing."""
    limits = STRICTNESS[strictness]
    look, seconds, cosine = pairs.look_distance, pairs.seconds_apart, pairs.cosine
    with np.errstate(invalid="ignore"):  # NaN compares false: a missing look or time never qualifies
        two_shots = seconds >= 1.0
        same = ~two_shots & (look <= limits.same_look) & (cosine >= limits.same_cosine)
        burst = (seconds <= limits.burst_seconds) & (look <= limits.burst_look) & (cosine >= limits.burst_cosine)
    ranks = np.full(len(look), NOT_DUPLICATES, dtype=np.int8)
    ranks[burst] = 2
    ranks[same] = 1
    ranks[pairs.same_bytes] = 0
    return ranks


def worth_keeping(measured: MeasuredPairs) -> np.ndarray:
    """Which candidate pairs may be duplicates at some strictness (the others are not stored)."""
    return ranks_of(measured, max(STRICTNESS)) != NOT_DUPLICATES
