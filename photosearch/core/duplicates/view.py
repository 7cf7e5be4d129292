"""The library's duplicates as its facade offers them: grouping (the writer), the groups of a
kind at a strictness with a suggested keeper, the summary for status, and "not duplicates"."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

import numpy as np

from photosearch.records import DuplicateGroup, DuplicatePhoto, DuplicateSummary, SearchResults

from ..catalog import Catalog
from ..index.store import IndexStore
from ..path_text import from_db
from ..thumbnails import ThumbnailStore
from .finder import DuplicateFinder
from .groups import ORDER, Groups, group
from .keeper import Candidate, sharpness, suggest
from .kinds import DEFAULT_STRICTNESS, STRICTNESS, Kind, MeasuredPairs
from .table import BATCH, DuplicateTable


class Duplicates:
    def __init__(self, catalog: Catalog, model: str, thumbnails: ThumbnailStore) -> None:
        self.catalog, self.thumbnails = catalog, thumbnails
        self.table = DuplicateTable(catalog, model)
        # what was read and worked out at a version of the pairs (the catalog bumps it on every change)
        self._version = -1
        self._pairs: tuple[np.ndarray, np.ndarray, MeasuredPairs] | None = None
        self._groups: dict[tuple[Kind, int, bool], Groups] = {}
        self._summaries: dict[int, DuplicateSummary] = {}
        self._lock = threading.Lock()

    # -- the writer -----------------------------------------------------------------------

    def group_next(self, store: IndexStore, limit: int, cancel: threading.Event | None = None) -> int:
        """Group up to `limit` photos not grouped yet (arrivals, or an existing library a slice
        at a time); returns how many were."""
        return DuplicateFinder(self.catalog, store, self.table.model, self.thumbnails).group_next(limit, cancel)

    def not_duplicates(self, photo_ids: Sequence[int]) -> None:
        self.table.not_duplicates(photo_ids)

    # -- readers --------------------------------------------------------------------------

    def summary(self, strictness: int = DEFAULT_STRICTNESS) -> DuplicateSummary:
        """Groups and space per kind (worked out once per version of the pairs), and what waits."""
        found = {kind: self._grouped(kind, strictness) for kind in ORDER}
        with self._lock:
            known = self._summaries.get(strictness)
        if known is None:
            sizes = self._sizes()
            known = DuplicateSummary(
                strictness,
                {kind.value: len(groups) for kind, groups in found.items()},
                {kind.value: groups.space(sizes) for kind, groups in found.items()},
                0,
            )
            with self._lock:
                self._summaries[strictness] = known
        return dataclasses.replace(known, waiting=self.table.waiting())

    def groups(
        self, kind: Kind, strictness: int = DEFAULT_STRICTNESS, offset: int = 0, limit: int | None = None
    ) -> list[DuplicateGroup]:
        """A page of the groups of `kind`, largest first, each with its keeper first."""
        page = self._grouped(kind, strictness).page(offset, limit)
        details = self._details({x for ids in page for x in ids}, with_sharpness=kind is Kind.BURST)
        result = []
        for ids in page:
            photos = [details[x] for x in ids if x in details]
            if len(photos) < 2:
                continue  # a photo left since it was grouped
            keeper, because = suggest(kind, photos)
            ordered = [keeper, *(p for p in photos if p is not keeper)]
            result.append(DuplicateGroup(kind.value, tuple(_record(p) for p in ordered), because))
        return result

    def fold(self, results: SearchResults, strictness: int = DEFAULT_STRICTNESS) -> SearchResults:
        """Results with each photo's exact copies and other forms folded into its best-ranked
        cell (which counts them); bursts stay apart: they are different photos."""
        groups = self._grouped(Kind.SAME, strictness, listed=False)
        if not len(groups) or not len(results):
            return results
        order = np.argsort(groups.members)
        sorted_members = groups.members[order]
        group_of = np.repeat(np.arange(len(groups)), np.diff(np.append(groups.starts, len(groups.members))))[order]
        ids = np.asarray(results.ids, dtype=np.int64)
        at = np.clip(np.searchsorted(sorted_members, ids), 0, len(sorted_members) - 1)
        found = np.where(sorted_members[at] == ids, group_of[at], -1 - np.arange(len(ids)))  # alone: a group of its own
        rows: list[int] = []
        counts: dict[int, int] = {}
        for row, key in enumerate(found.tolist()):
            if key not in counts:
                rows.append(row)
                counts[key] = 0
            counts[key] += 1
        return results.picked(rows, [counts[int(found[row])] for row in rows])

    def count(self, kind: Kind, strictness: int = DEFAULT_STRICTNESS) -> int:
        return len(self._grouped(kind, strictness))

    def _grouped(self, kind: Kind, strictness: int, listed: bool = True) -> Groups:
        if strictness not in STRICTNESS:
            raise ValueError(f"strictness is one of {', '.join(map(str, STRICTNESS))}")
        version = int(self.catalog.read("SELECT version FROM duplicates_version")[0][0])
        with self._lock:
            if version != self._version:  # the pairs changed: everything worked out from them goes
                self._version, self._pairs, self._groups, self._summaries = version, None, {}, {}
            cached = self._groups.get((kind, strictness, listed))
            if cached is not None:
                return cached
            pairs = self._pairs
        if pairs is None:
            pairs = self.table.pairs()
            with self._lock:
                if version == self._version:
                    self._pairs = pairs
        found = group(*pairs, kind, strictness, listed)
        with self._lock:
            if version == self._version:
                self._groups[(kind, strictness, listed)] = found
        return found

    def _sizes(self) -> dict[int, int]:
        """The file sizes of every photo in a pair, in one read."""
        rows = self.catalog.read(
            "SELECT id, size FROM photos WHERE id IN (SELECT a FROM duplicate_pairs WHERE model=?"
            " UNION SELECT b FROM duplicate_pairs WHERE model=?)",
            (self.table.model, self.table.model),
        )
        return {int(i): int(size) for i, size in rows}

    def _details(self, ids: set[int], with_sharpness: bool) -> dict[int, Candidate]:
        details: dict[int, Candidate] = {}
        ordered = sorted(ids)
        for start in range(0, len(ordered), BATCH):
            part = ordered[start : start + BATCH]
            rows = self.catalog.read(
                "SELECT id, path, size, COALESCE(width, 0), COALESCE(height, 0), mtime_ns, taken FROM photos"
                f" WHERE id IN ({','.join('?' * len(part))})",
                part,
            )
            for photo, path, size, width, height, mtime, taken in rows:
                sharp = sharpness(self.thumbnails.path(int(photo))) if with_sharpness else None
                details[int(photo)] = Candidate(
                    int(photo), from_db(path), int(size), int(width), int(height), int(mtime), sharp, taken
                )
        return details


def _record(photo: Candidate) -> DuplicatePhoto:
    return DuplicatePhoto(photo.photo_id, photo.path, photo.size, photo.width, photo.height, photo.taken, photo.sharpness)


def kind_named(name: str) -> Kind:
    try:
        return Kind(name)
    except ValueError:
        raise ValueError(f"a duplicate kind is one of: {', '.join(k.value for k in Kind)}") from None


__all__ = ["Duplicates", "Kind", "kind_named"]
