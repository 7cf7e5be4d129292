"""Groups from pairs: the photos joined by pairs of a kind (or stricter) at a strictness.

Kinds nest: an exact copy is also the same photo, and the same photo is also of one moment.
So the exact-copy groups are joined by exact pairs alone, the same-photo groups by exact and
same pairs (and are listed as such when a same pair is among them), and the burst groups by
all three. Each listing is consistent by itself; a photo may be in one group of each kind.
"""

from __future__ import annotations

from collections.abc import Iterable

from .kinds import Kind, kind_of
from .table import Pair

ORDER = (Kind.EXACT, Kind.SAME, Kind.BURST)


def group(pairs: Iterable[Pair], kind: Kind, strictness: int) -> list[list[int]]:
    """The groups of `kind` at `strictness`, each a sorted list of photo ids, largest first."""
    level = ORDER.index(kind)
    parent: dict[int, int] = {}
    loosest: dict[int, int] = {}  # root → the loosest kind among its pairs

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    edges = []
    for pair in pairs:
        found = kind_of(pair.measures, strictness)
        if found is not None and ORDER.index(found) <= level:
            edges.append((pair.a, pair.b, ORDER.index(found)))
    for a, b, _ in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    for a, _, rank in edges:
        r = root(a)
        loosest[r] = max(loosest.get(r, 0), rank)
    members: dict[int, list[int]] = {}
    for x in parent:
        members.setdefault(root(x), []).append(x)
    groups = [sorted(ids) for r, ids in members.items() if loosest.get(r) == level]
    return sorted(groups, key=lambda ids: (-len(ids), ids[0]))
