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
from .images import DecodeError, load_for_model
from .index.store import IndexStore
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
        pixels, _ = load_for_model(path, encoder.image_size)
    except DecodeError as exc:
        raise QueryError(f"cannot use {path} as a query: {exc}") from None
    return encoder.encode_images(pixels[None])[0]


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
        allowed = catalog.labels_where(model, where.folders, after, before)
    labels, scores = store.index.search(vector, k + extra, allowed=allowed, ef=ef)
    details = catalog.hit_details(labels.tolist())
    rows: list[HitRow] = []
    kept: list[float] = []
    for label, score in zip(labels.tolist(), scores.tolist(), strict=True):
        row = details.get(label)
        if row is None or (exclude and row[1] in exclude):
            continue
        if cutoff is not None and kept and score < kept[0] * cutoff:
            break  # best first: every later one is below the floor too
        rows.append(row)
        kept.append(score)
        if len(rows) == k:
            break
    return SearchResults.from_rows(rows, kept)
