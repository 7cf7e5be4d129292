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
from dataclasses import dataclass

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


def kind_of(measures: Measures, strictness: int = DEFAULT_STRICTNESS) -> Kind | None:
    """The pair's kind at `strictness`, or None (not duplicates).

    The look decides; the model's similarity only guards against two unrelated pictures whose
    looks happen to agree. Two photos whose capture times differ by a second or more are two
    shots, never the same photo (an edited or converted copy keeps its time or has none)."""
    if measures.same_bytes:
        return Kind.EXACT
    limits = STRICTNESS[strictness]
    look, seconds = measures.look_distance, measures.seconds_apart
    if look is None:
        return None  # no pixel-level evidence: the model's similarity alone decides nothing
    two_shots = seconds is not None and seconds >= 1.0
    if not two_shots and look <= limits.same_look and measures.cosine >= limits.same_cosine:
        return Kind.SAME
    moment = seconds is not None and seconds <= limits.burst_seconds
    if moment and look <= limits.burst_look and measures.cosine >= limits.burst_cosine:
        return Kind.BURST
    return None


def worth_keeping(measures: Measures) -> bool:
    """Whether a candidate pair may be duplicates at some strictness (else it is not stored)."""
    return kind_of(measures, max(STRICTNESS)) is not None
