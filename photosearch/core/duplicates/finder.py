"""Grouping as photos arrive: each newly embedded photo looks up its nearest neighbours in the
graph (and the photos with its fingerprint), and each candidate pair is measured and kept.

Nothing compares all pairs: a photo costs one small graph search, whether the library holds a
thousand photos or a million. The same code groups an existing library a slice at a time in
the worker's idle time (its progress is the last vector grouped, per model, in the catalog,
written with the pairs: a kill loses nothing and repeats nothing).
"""

from __future__ import annotations

import filecmp
import os
import threading
from pathlib import Path

from ..catalog import Catalog
from ..index.store import IndexStore
from ..look import look_distance
from ..thumbnails import ThumbnailStore
from .keeper import thumbnail_look
from .kinds import CANDIDATE_COSINE, MeasuredPairs, Measures, worth_keeping
from .table import DuplicateTable, Pair, PhotoFacts

NEIGHBOURS = 10  # a burst of any length is joined up through each shot's nearest ones
# duplicates lie far closer together than a photo's tenth neighbour: a narrow walk finds them
GROUPING_EF = 64


class DuplicateFinder:
    def __init__(self, catalog: Catalog, store: IndexStore, model: str, thumbnails: ThumbnailStore) -> None:
        self.table = DuplicateTable(catalog, model)
        self.store, self.thumbnails = store, thumbnails

    def waiting(self) -> int:
        return self.table.waiting()

    def group_next(self, limit: int, cancel: threading.Event | None = None) -> int:
        """Group up to `limit` photos not grouped yet, oldest first; returns how many were."""
        arrivals = self.table.ungrouped(limit)
        if not arrivals:
            return 0
        self.store.refresh()  # the graph holds every committed vector, these included
        index, ef = self.store.index, min(GROUPING_EF, self.store.search_ef("image"))
        neighbours: dict[int, list[tuple[int, float]]] = {}
        for label, _, vector in arrivals:
            if cancel is not None and cancel.is_set():
                break
            labels, similarities = index.search(vector, NEIGHBOURS + 1, ef=ef)
            neighbours[label] = [(int(x), float(s)) for x, s in zip(labels, similarities, strict=True) if s >= CANDIDATE_COSINE]
        if not neighbours:
            return 0
        facts = self.table.facts_by_label({x for found in neighbours.values() for x, _ in found} | set(neighbours))
        looks = self._missing_looks(facts)
        candidates: dict[tuple[int, int], Measures] = {}
        for label, found in neighbours.items():
            mine = facts.get(label)
            if mine is None:  # the photo left meanwhile
                continue
            for other_label, similarity in found:
                other = facts.get(other_label)
                if other is not None and other.photo_id != mine.photo_id:
                    self._measure(mine, other, similarity, looks, candidates)
            # candidates for exact copies, whatever the graph says
            for other in self.table.facts_by_fingerprint(mine.fingerprint, NEIGHBOURS) if mine.fingerprint else []:
                if other.photo_id != mine.photo_id:
                    self._measure(mine, other, None, looks, candidates)  # a copy, or nothing
        measured = list(candidates.values())
        kept = worth_keeping(MeasuredPairs.of(measured))  # judged all at once
        pairs = [Pair(a, b, m) for (a, b), m, keep in zip(candidates, measured, kept, strict=True) if keep]
        self.table.record(pairs, looks, grouped_up_to=max(neighbours))
        return len(neighbours)

    def _measure(
        self,
        mine: PhotoFacts,
        other: PhotoFacts,
        similarity: float | None,
        looks: dict[int, int],
        candidates: dict[tuple[int, int], Measures],
    ) -> None:
        """Measure one candidate pair (once). `similarity`: the model's, or None for a pair that
        only shares a fingerprint (a candidate only if the bytes are equal)."""
        key = (min(mine.photo_id, other.photo_id), max(mine.photo_id, other.photo_id))
        if key in candidates:
            return
        same_bytes = bool(mine.fingerprint) and mine.fingerprint == other.fingerprint and _same_bytes(mine, other)
        if similarity is None and not same_bytes:
            return
        a, b = looks.get(mine.photo_id, mine.look), looks.get(other.photo_id, other.look)
        apart = abs(mine.taken - other.taken) if mine.taken is not None and other.taken is not None else None
        distance = look_distance(a, b) if a is not None and b is not None else None
        candidates[key] = Measures(same_bytes, 1.0 if similarity is None else similarity, distance, apart)

    def _missing_looks(self, facts: dict[int, PhotoFacts]) -> dict[int, int]:
        """Looks of photos indexed before looks were kept, from their thumbnails (a 320-pixel
        JPEG decodes in about a millisecond); a photo without a thumbnail has none yet."""
        looks: dict[int, int] = {}
        for fact in facts.values():
            if fact.look is None and fact.photo_id not in looks:
                look = thumbnail_look(self.thumbnails.path(fact.photo_id))
                if look is not None:
                    looks[fact.photo_id] = look
        return looks


def _same_bytes(a: PhotoFacts, b: PhotoFacts) -> bool:
    """Equal fingerprints (size, head and tail), confirmed byte for byte where both files can be
    read; a file that cannot be read now (an offline folder) is taken at its fingerprint."""
    if a.size != b.size:
        return False
    try:
        first, second = os.stat(a.path), os.stat(b.path)
        if (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino):
            return True  # hard links: one file
        return filecmp.cmp(Path(a.path), Path(b.path), shallow=False)
    except OSError:
        return True
