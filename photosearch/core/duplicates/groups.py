"""Groups from pairs: the photos joined by pairs of a kind (or stricter) at a strictness.

Kinds nest: an exact copy is also the same photo, and the same photo is also of one moment.
So the exact-copy groups are joined by exact pairs alone, the same-photo groups by exact and
same pairs (and are listed as such when a same pair is among them), and the burst groups by
all three. Each listing is consistent by itself; a photo may be in one group of each kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kinds import NOT_DUPLICATES, Kind, MeasuredPairs, ranks_of

ORDER = (Kind.EXACT, Kind.SAME, Kind.BURST)


@dataclass(frozen=True)
class Groups:
    """Groups as two arrays, largest first: a hundred thousand of them are paged without ever
    becoming a hundred thousand lists."""

    members: np.ndarray  # photo ids, group after group (each group's ids ascending)
    starts: np.ndarray  # where each group begins in `members`

    def __len__(self) -> int:
        return len(self.starts)

    def page(self, offset: int = 0, limit: int | None = None) -> list[list[int]]:
        ends = np.append(self.starts[1:], len(self.members))
        stop = len(self) if limit is None else min(len(self), offset + limit)
        return [self.members[self.starts[i] : ends[i]].tolist() for i in range(offset, stop)]

    def space(self, sizes: dict[int, int]) -> int:
        """Bytes all but the largest photo of each group hold."""
        if not len(self):
            return 0
        held = np.array([sizes.get(int(x), 0) for x in self.members], dtype=np.int64)
        return int(np.add.reduceat(held, self.starts).sum() - np.maximum.reduceat(held, self.starts).sum())


NO_GROUPS = Groups(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


def group(a: np.ndarray, b: np.ndarray, measured: MeasuredPairs, kind: Kind, strictness: int, listed: bool = True) -> Groups:
    """The groups of `kind` at `strictness` among the pairs (a[i], b[i]), largest first (then
    by their smallest photo id); `listed=False`: every group joined by pairs of that kind or
    stricter, whatever its loosest pair (folding search results). Components by label
    propagation with pointer jumping: a few passes over the pairs as arrays (duplicate groups
    are shallow), no loop per pair."""
    level = ORDER.index(kind)
    ranks = ranks_of(measured, strictness)
    keep = (ranks != NOT_DUPLICATES) & (ranks <= level)
    a, b, ranks = a[keep], b[keep], ranks[keep]
    if not len(a):
        return NO_GROUPS
    nodes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    first, second = inverse[: len(a)], inverse[len(a) :]
    label = np.arange(len(nodes))
    while True:
        lower = np.minimum(label[first], label[second])
        before = label.copy()
        np.minimum.at(label, first, lower)
        np.minimum.at(label, second, lower)
        label = label[label]
        if np.array_equal(label, before):
            break
    loosest = np.full(len(nodes), -1, dtype=np.int8)
    np.maximum.at(loosest, label[first], ranks)
    chosen = np.flatnonzero(loosest[label] == level if listed else loosest[label] >= 0)  # listed: under its loosest kind
    if not len(chosen):
        return NO_GROUPS
    roots, sizes = np.unique(label[chosen], return_counts=True)  # a root is its group's smallest node
    size_of = np.zeros(len(nodes), dtype=np.int64)
    size_of[roots] = sizes
    order = chosen[np.lexsort((nodes[chosen], label[chosen], -size_of[label[chosen]]))]
    starts = np.flatnonzero(np.r_[True, np.diff(label[order]) != 0])
    return Groups(nodes[order], starts)
