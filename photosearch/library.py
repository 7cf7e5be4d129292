"""The library facade: one folder on disk holding a catalog, vector indexes and imported models.

The CLI (and later the worker) talk only to this class. The embedder is created on first
need, so `status` never loads torch; searching works while `index()` runs in another thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .catalog import Catalog, Folder
from .images import DecodeError, load_for_model
from .index_store import IndexStore
from .models import DEFAULT_MODEL, ModelSpec, ModelUnavailable, cached_weights, get_model
from .pipeline import Indexer, IndexReport, Progress
from .query import QueryError, Term, parse_query
from .sync import SyncReport, sync_library
from .vector_index import TEXT_QUERY_EF
from .writer_lock import WriterLock

CATALOG_FILE = "catalog.sqlite3"
INDEX_FOLDER = "index"
WRITER_LOCK_FILE = "writer.lock"


class LibraryError(Exception):
    """A problem with the library itself (location, permissions); the message is for the user."""


def default_library_home() -> Path:
    override = os.environ.get("PHOTOSEARCH_HOME")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("photosearch"))


@dataclass(frozen=True)
class SearchResult:
    path: str
    score: float


class Library:
    def __init__(
        self,
        home: Path | None = None,
        model: str | None = None,
        device: str | None = None,
        threads: int | None = None,
        random_weights: bool = False,
    ) -> None:
        """`random_weights`: benchmarks only (a real architecture's cost without its download)."""
        self.home = (home or default_library_home()).expanduser().resolve()
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot create library folder {self.home}: {exc.strerror or exc}") from None
        if not os.access(self.home, os.W_OK):
            raise LibraryError(f"library folder {self.home} is not writable")
        self.catalog = Catalog(self.home / CATALOG_FILE)
        chosen = model or os.environ.get("PHOTOSEARCH_MODEL") or self.catalog.get_meta("model") or DEFAULT_MODEL
        self.spec: ModelSpec = get_model(chosen, self.home)
        self.device = device
        self.threads = threads
        self.random_weights = random_weights
        self._embedder: Any = None
        self._store: IndexStore | None = None
        self._lock = threading.RLock()
        self._writer = WriterLock(self.home / WRITER_LOCK_FILE)

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._store is not None and self._writer.held:
                try:
                    self._store.save()
                except OSError:
                    pass  # the catalog is the truth; the next start replays or rebuilds
            self._writer.release()
            self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def embedder(self) -> Any:
        """The CLIP embedder, loaded on first use (it imports torch: seconds)."""
        with self._lock:
            if self._embedder is None:
                from .embedder import Embedder

                self._embedder = Embedder(self.spec, device=self.device, threads=self.threads, random_weights=self.random_weights)
            return self._embedder

    @property
    def loaded_embedder(self) -> Any:
        """The embedder if it is loaded already, else None (never loads it)."""
        return self._embedder

    @property
    def store(self) -> IndexStore:
        with self._lock:
            if self._store is None:
                self._store = IndexStore(
                    self.catalog, self.home / INDEX_FOLDER, self.spec.name, self.spec.dim, threads=self.threads or 1
                )
            return self._store

    # -- folders --------------------------------------------------------------------------

    def add_folder(self, path: Path) -> Folder:
        folder = path.expanduser().resolve()
        if not folder.is_dir():
            raise LibraryError(f"not a folder: {path}")
        for existing in self.catalog.folders():
            if folder == Path(existing.path) or Path(existing.path) in folder.parents:
                return existing  # already covered by a library folder
        return self.catalog.add_folder(str(folder))

    def remove_folder(self, path: Path) -> int:
        target = str(path.expanduser().resolve())
        for existing in self.catalog.folders():
            if existing.path == target:
                self.claim_writer()
                removed = self.catalog.remove_folder(existing.id)
                self.store.refresh()
                return removed
        raise LibraryError(f"{path} is not a library folder")

    # -- indexing -------------------------------------------------------------------------

    def claim_writer(self) -> None:
        """Become this library's one writer (raises LibraryBusy if another process is)."""
        self._writer.acquire()

    def sync(self) -> SyncReport:
        self.claim_writer()
        report = sync_library(self.catalog)
        self.store.refresh()
        return report

    def index(
        self,
        on_progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
        batch_size: int = 32,
        decode_workers: int | None = None,
    ) -> tuple[SyncReport, IndexReport]:
        """Sync the folders, then embed everything pending (resuming any interrupted run)."""
        self.claim_writer()
        self.catalog.set_meta("model", self.spec.name)
        report = self.sync()
        self.catalog.mark_pending_for_model(self.spec.name)
        indexer = Indexer(
            self.catalog,
            self.store,
            self.embedder,
            self.spec.name,
            batch_size=batch_size,
            decode_workers=decode_workers,
            on_progress=on_progress,
            cancel=cancel,
        )
        return report, indexer.run()

    # -- search ---------------------------------------------------------------------------

    def query_vector(self, query: str | list[Term], base: Path | None = None) -> np.ndarray:
        terms = parse_query(query, base) if isinstance(query, str) else query
        total = np.zeros(self.spec.dim, dtype=np.float32)
        texts = [t for t in terms if t.kind == "text"]
        if texts:
            vectors = self.embedder.encode_texts([t.value for t in texts])
            for term, vector in zip(texts, vectors, strict=True):
                total += np.float32(term.weight) * vector
        for term in (t for t in terms if t.kind == "image"):
            total += np.float32(term.weight) * self.image_vector(Path(term.value))
        norm = float(np.linalg.norm(total))
        if norm < 1e-6:
            raise QueryError("the query's terms cancel each other out")
        return (total / np.float32(norm)).astype(np.float32)

    def image_vector(self, path: Path) -> np.ndarray:
        """A photo's vector: from the catalog when indexed, else decoded and embedded now."""
        stored = self.catalog.vector_for_path(self.spec.name, str(path.resolve()))
        if stored is not None and stored.shape == (self.spec.dim,):
            return stored
        try:
            pixels, _ = load_for_model(path, self.embedder.image_size)
        except DecodeError as exc:
            raise QueryError(f"cannot use {path} as a query: {exc}") from None
        return self.embedder.encode_images(pixels[None])[0]

    def search_vector(
        self,
        vector: np.ndarray,
        k: int = 20,
        cutoff: float | None = None,
        exclude: set[str] | None = None,
        ef: int | None = None,
    ) -> list[SearchResult]:
        store = self.store
        store.refresh()
        extra = len(exclude) if exclude else 0
        labels, scores = store.index.search(vector, k + extra, ef=ef)
        paths = self.catalog.paths_for_labels(labels.tolist())
        results = [
            SearchResult(paths[label], float(score))
            for label, score in zip(labels.tolist(), scores.tolist(), strict=True)
            if label in paths and not (exclude and paths[label] in exclude)
        ][:k]
        if cutoff is not None and results:
            floor = results[0].score * cutoff
            results = [r for r in results if r.score >= floor]
        return results

    def search_terms(self, terms: list[Term], k: int = 20, cutoff: float | None = None) -> list[SearchResult]:
        """Search by parsed terms; a query with words in it searches wider (it sits across the
        modality gap, far from every photo, where HNSW needs a larger ef for the same recall)."""
        ef = TEXT_QUERY_EF if any(t.kind == "text" for t in terms) else None
        return self.search_vector(self.query_vector(terms), k, cutoff, ef=ef)

    def search(self, query: str, k: int = 20, cutoff: float | None = None, base: Path | None = None) -> list[SearchResult]:
        return self.search_terms(parse_query(query, base), k, cutoff)

    def similar(self, image: Path, k: int = 20, cutoff: float | None = None) -> list[SearchResult]:
        image = image.expanduser().resolve()
        if not image.is_file():
            raise QueryError(f"no such image: {image}")
        return self.search_vector(self.image_vector(image), k, cutoff, exclude={str(image)})

    # -- status ---------------------------------------------------------------------------

    def status(self, include_paths: bool = False) -> dict[str, Any]:
        health = self.store.health()
        counts = self.catalog.counts()
        data: dict[str, Any] = {
            "library": str(self.home),
            "model": self.spec.name,
            "model_weights": "present" if _weights_present(self.spec) else "not downloaded",
            "folders": [{"path": f.path, "state": f.state} for f in self.catalog.folders()],
            "photos": counts,
            "index": {"vectors": health.vectors, "deleted": health.deleted, "healthy": health.healthy, "note": health.note},
            "skipped": [{"path": p, "reason": r} for p, r in self.catalog.skipped()],
        }
        if include_paths:
            data["paths"] = self.catalog.indexed_paths()
        return data


def _weights_present(spec: ModelSpec) -> bool:
    try:
        return cached_weights(spec) is not None
    except (ModelUnavailable, OSError, ImportError):
        return False
