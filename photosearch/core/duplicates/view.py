"""The library's duplicates as its facade offers them: grouping (the writer), the groups of a
kind at a strictness with a suggested keeper, the summary for status, and "not duplicates"."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from photosearch.records import DuplicateGroup, DuplicatePhoto, DuplicateSummary

from ..catalog import Catalog
from ..index.store import IndexStore
from ..path_text import from_db
from ..thumbnails import ThumbnailStore
from .finder import DuplicateFinder
from .groups import ORDER, group
from .keeper import Candidate, sharpness, suggest
from .kinds import DEFAULT_STRICTNESS, STRICTNESS, Kind
from .table import BATCH, DuplicateTable


class Duplicates:
    def __init__(self, catalog: Catalog, model: str, thumbnails: ThumbnailStore) -> None:
        self.catalog, self.thumbnails = catalog, thumbnails
        self.table = DuplicateTable(catalog, model)
        self._groups: dict[tuple[Kind, int], tuple[int, list[list[int]]]] = {}  # (kind, strictness) → (version, groups)
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
        groups: dict[str, int] = {}
        reclaimable: dict[str, int] = {}
        for kind in ORDER:
            found = self._grouped(kind, strictness)
            sizes = self._sizes({x for ids in found for x in ids})
            groups[kind.value] = len(found)
            reclaimable[kind.value] = sum(sum(sizes.get(x, 0) for x in ids) - max(sizes.get(x, 0) for x in ids) for ids in found)
        return DuplicateSummary(strictness, groups, reclaimable, self.table.waiting())

    def groups(
        self, kind: Kind, strictness: int = DEFAULT_STRICTNESS, offset: int = 0, limit: int | None = None
    ) -> list[DuplicateGroup]:
        """A page of the groups of `kind`, largest first, each with its keeper first."""
        found = self._grouped(kind, strictness)
        page = found[offset : None if limit is None else offset + limit]
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

    def count(self, kind: Kind, strictness: int = DEFAULT_STRICTNESS) -> int:
        return len(self._grouped(kind, strictness))

    def _grouped(self, kind: Kind, strictness: int) -> list[list[int]]:
        if strictness not in STRICTNESS:
            raise ValueError(f"strictness is one of {', '.join(map(str, STRICTNESS))}")
        version = int(self.catalog.read("SELECT version FROM duplicates_version")[0][0])
        with self._lock:
            cached = self._groups.get((kind, strictness))
            if cached is not None and cached[0] == version:
                return cached[1]
        found = group(self.table.pairs(), kind, strictness)
        with self._lock:
            self._groups[(kind, strictness)] = (version, found)
        return found

    def _sizes(self, ids: set[int]) -> dict[int, int]:
        sizes: dict[int, int] = {}
        ordered = sorted(ids)
        for start in range(0, len(ordered), BATCH):
            part = ordered[start : start + BATCH]
            rows = self.catalog.read(f"SELECT id, size FROM photos WHERE id IN ({','.join('?' * len(part))})", part)
            sizes.update((int(i), int(size)) for i, size in rows)
        return sizes

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
