"""The arithmetic of a search: terms to one query vector, a vector to ranked rows.

Kept apart from the library so the maths can be read (and changed) without the write path and
upkeep around it; the library supplies the catalog, the index and the embedder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from photosearch.records import HitRow, SearchFilter, SearchResults

from .catalog import Catalog
from .filters import date_bounds
from .images import DecodeError
from .index.store import IndexStore
from .media import decode_media
from .query import QueryError, Term

if TYPE_CHECKING:
    from .models.embedder import Embedder


def query_vector(
    terms: Sequence[Term], dim: int, encode_texts: Callable[[list[str]], np.ndarray], image_vector: Callable[[Path], np.ndarray]
) -> np.ndarray:
    """The weighted sum of the terms' vectors, unit length; terms that cancel out are an error
    (a direction of zero length finds nothing in particular)."""
    total = np.zeros(dim, dtype=np.float32)
    texts = [t for t in terms if t.kind == "text"]
    if texts:
        for term, vector in zip(texts, encode_texts([t.value for t in texts]), strict=True):
            total += np.float32(term.weight) * vector
    for term in (t for t in terms if t.kind == "image"):
        total += np.float32(term.weight) * image_vector(Path(term.value))
    norm = float(np.linalg.norm(total))
    if norm < 1e-6:
        raise QueryError("the query's terms cancel each other out")
    return (total / np.float32(norm)).astype(np.float32)


def photo_vector(catalog: Catalog, model: str, dim: int, embedder: Callable[[], Embedder], path: Path) -> np.ndarray:
    """A photo's vector: the catalog's when it is indexed (no decode, no model), else decoded
    and embedded now."""
    stored = catalog.vector_for_path(model, str(path.resolve()))
    if stored is not None and stored.shape == (dim,) and np.isfinite(stored).all():
        return stored
    if not path.is_file():  # never there (a mistyped path), not a file that just went away
        raise QueryError(f"no such photo: {path}")
    encoder = embedder()
    try:
        pictures = decode_media(path, encoder.image_size).pictures
    except DecodeError as exc:
        raise QueryError(f"cannot use {path} as a query: {exc}") from None
    vectors = encoder.encode_images(pictures)
    mean = vectors.mean(axis=0)  # a video: the direction its frames share
    return (mean / max(1e-12, float(np.linalg.norm(mean)))).astype(np.float32)


def nearest(
    store: IndexStore,
    catalog: Catalog,
    model: str,
    vector: np.ndarray,
    k: int,
    cutoff: float | None = None,
    exclude: set[str] | None = None,
    ef: int | None = None,
    where: SearchFilter | None = None,
) -> SearchResults:
    """The k photos nearest `vector` (of those `where` allows, none in `exclude`), as columns,
    best first; with `cutoff`, only those scoring at least that fraction of the best."""
    store.refresh()
    extra = len(exclude) if exclude else 0
    allowed = None
    if where is not None and where.active:
        after, before = date_bounds(where.after, where.before)
        allowed = catalog.labels_where(model, where.folders, after, before, where.kinds)
    available = len(store.index) if allowed is None else len(allowed)
    wanted = k + extra
    while True:  # a video's frames share one result: look further until k items are found
        labels, scores = store.index.search(vector, wanted, allowed=allowed, ef=ef)
        rows, kept, short = _items(catalog.hit_details(labels.tolist()), labels.tolist(), scores.tolist(), k, cutoff, exclude)
        if not short or wanted >= available or len(labels) < wanted:
            return SearchResults.from_rows(rows, kept)
        wanted = min(available, wanted * 4)


def _items(
    details: dict[int, HitRow],
    labels: list[int],
    scores: list[float],
    k: int,
    cutoff: float | None,
    exclude: set[str] | None,
) -> tuple[list[HitRow], list[float], bool]:
    """The best-ranked label of each item, best first, up to k; and whether more labels
    might still add items (k not reached before the labels or the cutoff ran out)."""
    rows: list[HitRow] = []
    kept: list[float] = []
    seen: set[int] = set()
    for label, score in zip(labels, scores, strict=True):
        row = details.get(label)
        if row is None or row[0] in seen or (exclude and row[1] in exclude):
            continue
        if cutoff is not None and kept and score < kept[0] * cutoff:
            return rows, kept, False  # best first: every later one is below the floor too
        seen.add(row[0])
        rows.append(row)
        kept.append(score)
        if len(rows) == k:
            return rows, kept, False
    return rows, kept, True
