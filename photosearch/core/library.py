"""The library facade: the one door into the core.

A library is one folder on disk holding a catalog, vector indexes and imported models (its
layout: `layout.py`). The CLI and the worker process talk only to this module: `Library`, and
the functions it passes on from `model_weights` (models) and `maintenance` (repair). `Library`
owns the whole write path — reconciling folders, syncing the paths a watcher names,
preparing and running indexing — so there is one conductor, and every write takes the writer
lock. The embedder is created on first need, so `status` never loads torch; the index is opened
on first search or write, so `status` never loads the graph either. Searching works while
indexing runs in another thread.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from photosearch.privacy import private_folder
from photosearch.records import (
    CatalogHealth,
    DuplicateGroup,
    DuplicatePage,
    FolderStatus,
    IndexReport,
    LibraryStatus,
    PhotoCounts,
    Progress,
    SearchFilter,
    SearchResults,
    SkippedFile,
    SyncReport,
)

from . import maintenance, search
from .catalog import Catalog, CatalogDamaged, CatalogError, Folder
from .decode_guard import DecodeGuard
from .duplicates.kinds import DEFAULT_STRICTNESS
from .duplicates.view import Duplicates, kind_named
from .everyday_queries import EVERYDAY_QUERIES
from .filters import check_filter
from .images import DecodeError
from .index.calibration import SAMPLE as CALIBRATION_SAMPLE
from .index.calibration import TextSample
from .index.store import IndexStore, recorded_health
from .layout import LibraryError, LibraryLayout, LibraryMissing, LibraryReadOnly, default_library_home
from .media import decode_media
from .model_weights import download_model, import_model, list_models, weights_present
from .models.gpu import gpu_possible
from .models.int8_trial import TRIAL_PHOTOS, Int8Choice, Int8Trial
from .models.registry import DEFAULT_MODEL, ModelSpec, get_model
from .pipeline import Indexer
from .query import QueryError, QuerySyntaxError, Term, parse_query
from .scan import folder_is_online, sync_library, sync_paths
from .thumbnails import THUMBNAIL_SIZE, ThumbnailStore
from .writer_lock import LibraryBusy, WriterLock

if TYPE_CHECKING:
    from .models.embedder import Embedder

# The door's whole surface: what the worker and the command line may use from the core.
__all__ = [
    "CatalogDamaged",
    "Library",
    "LibraryBusy",
    "LibraryError",
    "LibraryMissing",
    "LibraryReadOnly",
    "default_library_home",
    "download_model",
    "gpu_possible",
    "import_model",
    "list_models",
    "parse_query",
    "repair_library",
]

# grouping duplicates after each indexing batch: its photos and this many waiting from before
# (an existing library is grouped mostly when idle: GROUPING_SLICE at a time)
ARRIVALS_BACKLOG = 16
GROUPING_SLICE = 200
FOLD_EXTRA = 200  # results asked for beyond k when folding duplicates (a photo in many forms)
KEPT_TEXT_QUERIES = 200  # the user's latest text queries (their vectors) kept with the library
TIMED_EVERYDAY_QUERIES = 12  # encoded one by one to time the text encoder, when no query was timed yet
repair_library = maintenance.repair_library


log = logging.getLogger(__name__)


class Library:
    def __init__(
        self,
        home: Path | None = None,
        model: str | None = None,
        device: str | None = None,
        threads: int | None = None,
        random_weights: bool = False,
        for_reading: bool = False,
        backend: str | None = None,
        create: bool = True,
    ) -> None:
        """`for_reading`: the caller only searches and reads status, so a library that cannot be
        written (a read-only mount or folder, a full disk) is opened read-only instead of refused;
        a write then fails with a clear reason. `random_weights`: benchmarks only (a real
        architecture's cost without its download). `backend`: the CPU inference runtime (see
        `Embedder`). `create`: a library that does not exist is made (else LibraryMissing: a
        library is only made when the user asks for one, never because its folder went away);
        a caller that only reads never makes one."""
        self.layout = LibraryLayout.at(home)
        self.home = self.layout.home
        self.read_only = False
        catalog_file = self.layout.catalog
        maintenance.refuse_an_emptied_catalog(self.layout)
        if (for_reading or not create) and not catalog_file.is_file():
            raise LibraryMissing(
                f"no library at {self.home}: a drive unplugged, a folder moved or deleted, or none made here yet "
                "(`photosearch index FOLDER` makes one)"
            )
        if for_reading and catalog_file.is_file():
            self.catalog = self._open_for_reading(catalog_file)
        else:
            try:
                private_folder(self.home)
            except OSError as exc:
                raise LibraryError(f"cannot create library folder {self.home}: {exc.strerror or exc}") from None
            if not os.access(self.home, os.W_OK):
                raise LibraryReadOnly(f"library folder {self.home} is not writable")
            self.catalog = Catalog(catalog_file)
        chosen = model or os.environ.get("PHOTOSEARCH_MODEL") or self.catalog.get_meta("model") or DEFAULT_MODEL
        self.spec: ModelSpec = get_model(chosen, self.home)
        self.device = device
        self.threads = threads
        self.backend = backend
        self.random_weights = random_weights
        self._embedder: Embedder | None = None
        self._store: IndexStore | None = None
        self._lock = threading.RLock()
        self._writer = WriterLock(self.layout.writer_lock)
        self.thumbnails = ThumbnailStore(self.layout.thumbnails)
        self._duplicates: Duplicates | None = None
        self._unkept_text: deque[np.ndarray] = deque(maxlen=KEPT_TEXT_QUERIES)  # searched, not yet in the catalog
        self._backup_refused_at: float | None = None  # when the catalog last failed the backup's check

    # -- lifecycle ------------------------------------------------------------------------

    def _open_for_reading(self, catalog_file: Path) -> Catalog:
        if os.access(self.home, os.W_OK):
            try:
                return Catalog(catalog_file)
            except CatalogError:  # e.g. a full disk: the WAL files cannot be created
                pass
        self.read_only = True
        return Catalog(catalog_file, read_only=True)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.stop_calibration()  # an unfinished one is done again next time
            if self._store is not None and self._writer.held:
                try:
                    self._store.save()
                except OSError:
                    pass  # the catalog is the truth; the next start replays or rebuilds
            try:
                self._keep_text_queries()
            except CatalogError:
                pass  # a few searches fewer in the next calibration's sample
            self._writer.release()
            self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def model(self) -> str:
        return self.spec.name

    @property
    def embedder(self) -> Embedder:
        """The CLIP embedder, loaded on first use (it imports torch: seconds)."""
        with self._lock:
            if self._embedder is None:
                from .models.embedder import Embedder

                self._embedder = Embedder(
                    self.spec,
                    device=self.device,
                    threads=self.threads,
                    random_weights=self.random_weights,
                    backend=self.backend,
                    int8_chosen=self._int8_chosen_for,
                )
            return self._embedder

    def load_model(self) -> None:
        """Load the embedder now (the worker overlaps this with its first scan)."""
        self.embedder  # noqa: B018 - the property loads it

    @property
    def inference_threads(self) -> int | None:
        """Threads the loaded embedder uses; None while it is not loaded."""
        return self._embedder.threads if self._embedder is not None else None

    @property
    def inference_backend(self) -> tuple[str | None, str | None]:
        """(the runtime doing inference, why it is not the one asked for); (None, None) while not loaded."""
        embedder = self._embedder
        return (embedder.backend, embedder.note) if embedder is not None else (None, None)

    @property
    def store(self) -> IndexStore:
        """The model's vector index, opened (verified, replayed or rebuilt) on first use."""
        with self._lock:
            if self._store is None:
                self._store = IndexStore(
                    self.catalog,
                    self.layout.index,
                    self.spec.name,
                    self.spec.dim,
                    threads=self.threads or 1,
                    on_damaged=self._requeue_damaged,
                )
            return self._store

    def _requeue_damaged(self, labels: list[int]) -> int:
        """Damaged stored vectors: the writer drops them and queues their photos again (and
        records that it did, for `status`); a reader searches around them."""
        if not self._writer.held:
            return 0
        photos = self.catalog.requeue_embeddings(labels)
        maintenance.record_index_repair(self.catalog, len(labels))
        return photos

    # -- folders --------------------------------------------------------------------------

    def folders(self, counts: bool = True) -> list[FolderStatus]:
        """The library's folders, with their photo counts unless `counts` is False (cheaper)."""
        per_folder = self.catalog.folder_counts() if counts else {}
        return [FolderStatus(f.path, f.state, _photo_counts(per_folder.get(f.id, {}))) for f in self.catalog.folders()]

    def set_excluded(self, paths: Iterable[str | Path]) -> tuple[str, ...]:
        """Leave these folders or photos (inside library folders) out of the library: their
        photos leave it at the next scan of their library folder (the worker scans at once), and
        come back when no longer excluded. A library folder itself is removed, not excluded. An
        exclusion already recorded whose library folder has gone is dropped, not an error."""
        folders = self._folder_paths()
        before = self.catalog.excluded()
        chosen: set[str] = set()
        for raw in paths:
            path = self.excluded_path(raw, folders)
            if Path(path) in folders:
                raise LibraryError(f"{path} is a library folder: remove it instead of excluding it")
            if not _below_any(Path(path), folders):
                if path in before:
                    continue  # left behind by a removed folder
                raise LibraryError(f"{path} is not inside a library folder, so there is nothing to exclude")
            chosen.add(path)
        self.claim_writer()
        self.catalog.set_excluded(chosen)
        return tuple(sorted(chosen))

    def excluded_path(self, raw: str | Path, folders: list[Path] | None = None) -> str:
        """How an exclusion is recorded: the path as the scans reach it. A subfolder that is a
        symbolic link is excluded by its own name inside the library folder (where the scans
        meet it), not by where it points, which may lie outside every library folder."""
        named = Path(os.path.abspath(Path(raw).expanduser()))
        if _below_any(named, self._folder_paths() if folders is None else folders):
            return str(named)
        return str(Path(raw).expanduser().resolve())

    def _folder_paths(self) -> list[Path]:
        return [Path(f.path) for f in self.catalog.folders()]

    def available_folders(self) -> set[str]:
        """The library folders that can be scanned now without taking their photos for deleted
        (not missing, nor suddenly empty or unreadable while they hold photos)."""
        return {f.path for f in self.catalog.folders() if folder_is_online(self.catalog, f)}

    def add_folder(self, path: Path) -> str:
        """Add a folder (a no-op when a library folder already covers it); returns the folder's path."""
        folder = path.expanduser().resolve()
        if not folder.is_dir():
            raise LibraryError(f"not a folder: {path}")
        for existing in self.catalog.folders():
            if folder == Path(existing.path) or Path(existing.path) in folder.parents:
                return existing.path
        self.claim_writer()
        return self.catalog.add_folder(str(folder)).path

    def holds_the_library(self, folder: str) -> bool:
        """Whether this library's own folder lies inside `folder` (it is left out of its scans)."""
        return Path(folder) in self.home.parents

    def remove_folder(self, path: Path) -> int:
        """Forget a folder and its photos (the files are never touched); returns how many."""
        target = str(path.expanduser().resolve())
        for existing in self.catalog.folders():
            if existing.path == target:
                self.claim_writer()
                removed = self.catalog.remove_folder(existing.id)
                excluded = self.catalog.excluded()
                inside = {p for p in excluded if _below_any(Path(p), [Path(target)])}
                if inside:  # its exclusions go with it
                    self.catalog.set_excluded(excluded - inside)
                self.store.refresh()
                self.drop_thumbnails()
                return removed
        raise LibraryError(f"{path} is not a library folder")

    # -- the write path -------------------------------------------------------------------

    def claim_writer(self) -> None:
        """Become this library's one writer (raises LibraryBusy if another process is)."""
        if self.read_only:
            raise LibraryReadOnly(
                f"library {self.home} is read-only or its disk is full: this needs to write to it (search and status work)"
            )
        self._writer.acquire()

    def could_write(self) -> bool:
        """Whether this process could become the library's writer now (its folder writable, no
        other writer): a reader that waits for that asks now and then."""
        if not os.access(self.home, os.W_OK) or not self.layout.catalog.exists():
            return False
        probe = WriterLock(self.layout.writer_lock)
        try:
            probe.acquire()
        except (LibraryBusy, OSError):
            return False
        probe.release()
        return True

    def reconcile(self, only: Iterable[str] | None = None) -> SyncReport:
        """Scan folders fully against the catalog (all, or the library folders named in `only`)."""
        self.claim_writer()
        folders: list[Folder] | None = None
        if only is not None:
            wanted = set(only)
            folders = [f for f in self.catalog.folders() if f.path in wanted]
        report = sync_library(self.catalog, folders)
        self.store.refresh()
        self.drop_thumbnails()
        return report

    def sync_paths(self, paths: Iterable[str], settle_s: float = 0.0) -> tuple[SyncReport, set[str]]:
        """Sync only what lies at or below `paths` (a watcher's hints); returns the report and the
        paths left for later because they were modified less than `settle_s` ago."""
        self.claim_writer()
        report, deferred = sync_paths(self.catalog, paths, settle_s)
        if report.touched:
            self.store.refresh()
            self.drop_thumbnails()
        return report, deferred

    def prepare_indexing(self) -> int:
        """Make this library's model the one it indexes for, and queue every photo that has no
        vector for it yet (re-using the vectors it kept of unchanged photos); returns the number
        of pending photos. The model is loaded first: a model that cannot load changes nothing."""
        self.load_model()
        self.claim_writer()
        self.catalog.set_meta("model", self.spec.name)
        self._settle_int8()
        self.catalog.queue_for_model(self.spec.name, exact_only=self.embedder.forced_exact)
        return self.catalog.pending_count()

    # -- int8 where it proves itself (models.int8_trial) ----------------------------------------

    def _int8_key(self) -> str:
        return f"int8:{self.spec.name}"

    def int8_choice(self) -> Int8Choice | None:
        """What this library chose for its model's int8 graph, and why; None before any choice."""
        return Int8Choice.from_text(self.catalog.get_meta(self._int8_key()))

    def _int8_chosen_for(self, export_digest: str) -> bool:
        """Whether int8 was chosen for this export: then it is the only image graph loaded."""
        choice = self.int8_choice()
        return choice is not None and choice.chosen and choice.digest == export_digest

    def _settle_int8(self) -> None:
        """Apply the choice made for this model's export, or start the trial that makes it."""
        embedder = self.embedder
        if not embedder.may_choose_int8:
            return
        choice = self.int8_choice()
        if choice is not None and choice.digest == embedder.export_digest:
            embedder.use_int8(choice.chosen)
            return
        if embedder.begin_int8_trial(self._decide_int8):
            log.info("int8 is tried beside the exact graph on the next %d photos", TRIAL_PHOTOS)

    def _decide_int8(self, trial: Int8Trial) -> bool:
        embedder = self.embedder
        own = self.catalog.text_queries(self.spec.name, self.spec.dim)  # the text tower is the same in both
        choice = trial.decide(np.concatenate([embedder.encode_texts(list(EVERYDAY_QUERIES)), own]), embedder.export_digest or "")
        self.catalog.set_meta(self._int8_key(), choice.to_text())
        log.info("%s", choice.why)
        return choice.chosen

    def pending_count(self) -> int:
        return self.catalog.pending_count()

    def run_indexing(
        self,
        on_progress: Callable[[Progress], None] | None = None,
        on_skipped: Callable[[str, str], None] | None = None,
        cancel: threading.Event | None = None,
        before_batch: Callable[[], None] | None = None,
        batch_size: int = 32,
        decode_workers: int | None = None,
        final_save: bool = True,
    ) -> IndexReport:
        """Embed every pending photo (see `pipeline.Indexer` for the callbacks)."""
        self.claim_writer()
        return Indexer(
            self.catalog,
            self.store,
            self.embedder,
            self.spec.name,
            batch_size=batch_size,
            decode_workers=decode_workers,
            on_progress=on_progress,
            on_skipped=on_skipped,
            cancel=cancel,
            before_batch=before_batch,
            final_save=final_save,
            thumbnails=self.thumbnails,
            after_commit=lambda arrived: self.group_duplicates(arrived + ARRIVALS_BACKLOG, cancel),
            guard=DecodeGuard(self.layout.decoding),
        ).run()

    def index(
        self,
        on_progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
        batch_size: int = 32,
        decode_workers: int | None = None,
    ) -> tuple[SyncReport, IndexReport]:
        """Sync the folders, then embed everything pending (resuming any interrupted run).
        The model is loaded before anything is written."""
        self.load_model()
        report = self.reconcile()
        self.prepare_indexing()
        indexed = self.run_indexing(on_progress, cancel=cancel, batch_size=batch_size, decode_workers=decode_workers)
        while not (cancel is not None and cancel.is_set()) and self.group_duplicates(cancel=cancel):
            pass  # photos indexed before duplicates were looked for
        self.calibrate_search()
        self.maybe_back_up()
        return report, indexed

    def calibrate_search(self, background: bool = False) -> bool:
        """The writer measures a new graph's recall and records the search breadth each kind of
        query needs (see index/calibration.py); returns whether a calibration ran or started.
        The text queries searched since the last call are kept with the library first."""
        if not self._writer.held or self._store is None:
            return False
        self._keep_text_queries()
        if not self._store.needs_calibration(self.catalog.text_query_count(self.spec.name)):
            return False
        self._store.calibrate(background, text_sample=self._text_sample)
        return True

    def _keep_text_queries(self) -> None:
        """The writer moves the text queries searched lately into the catalog (a search itself
        never waits for a write)."""
        if not self._writer.held or self.read_only or not self._unkept_text:
            return
        vectors = []
        while self._unkept_text:
            vectors.append(self._unkept_text.popleft())
        self.catalog.keep_text_queries(self.spec.name, np.stack(vectors), KEPT_TEXT_QUERIES)

    def _text_sample(self) -> TextSample:
        """The user's own recent text queries, topped up with everyday ones when the model is
        loaded (it encodes them; and times a few, when no typed query was timed yet)."""
        own = self.catalog.text_queries(self.spec.name, self.spec.dim)
        embedder = self._embedder
        if embedder is None:
            return TextSample(own, len(own))
        if embedder.text_seconds_p95() is None:
            embedder.time_text_queries(EVERYDAY_QUERIES[-TIMED_EVERYDAY_QUERIES:])
        everyday = EVERYDAY_QUERIES[: max(0, CALIBRATION_SAMPLE - len(own))]
        vectors = np.concatenate([own, embedder.encode_texts(list(everyday))]) if everyday else own
        return TextSample(vectors, len(own), embedder.text_seconds_p95())

    # -- duplicates -----------------------------------------------------------------------

    @property
    def duplicates(self) -> Duplicates:
        """This model's duplicates (grouping compares its vectors)."""
        with self._lock:
            if self._duplicates is None or self._duplicates.table.model != self.spec.name:
                self._duplicates = Duplicates(self.catalog, self.spec.name, self.thumbnails)
            return self._duplicates

    def group_duplicates(self, limit: int = GROUPING_SLICE, cancel: threading.Event | None = None) -> int:
        """The writer groups up to `limit` photos not grouped yet; returns how many it did."""
        if not self._writer.held or self.read_only:
            return 0
        return self.duplicates.group_next(self.store, limit, cancel)

    def duplicate_groups(
        self, kind: str, strictness: int = DEFAULT_STRICTNESS, offset: int = 0, limit: int | None = None
    ) -> list[DuplicateGroup]:
        """A page of the groups of one kind ('exact', 'same' or 'burst'), largest first, each
        with the photo to keep first and why."""
        try:
            return self.duplicates.groups(kind_named(kind), strictness, offset, limit)
        except ValueError as exc:
            raise LibraryError(str(exc)) from None

    def duplicate_page(self, kind: str, strictness: int = DEFAULT_STRICTNESS, offset: int = 0, limit: int = 50) -> DuplicatePage:
        """A page of one kind's groups with how many there are and the summary (the window)."""
        groups = self.duplicate_groups(kind, strictness, offset, limit)
        total = self.duplicates.count(kind_named(kind), strictness)
        return DuplicatePage(kind, strictness, offset, total, tuple(groups), self.duplicates.summary(strictness))

    def duplicates_waiting(self) -> int:
        """How many photos are not grouped yet (the worker groups them when idle; `index` too)."""
        return self.duplicates.table.waiting()

    def not_duplicates(self, photo_ids: Sequence[int]) -> None:
        """The user says these photos are not duplicates of each other: remembered."""
        self.claim_writer()
        self.duplicates.not_duplicates(photo_ids)

    # -- thumbnails -----------------------------------------------------------------------

    def drop_thumbnails(self) -> int:
        """Remove the thumbnails of photos the catalog deleted; returns how many files went."""
        if not self._writer.held:
            return 0
        removed = 0
        while ids := self.catalog.dropped_photos():
            removed += self.thumbnails.remove(ids)
            self.catalog.forget_dropped(ids)
        return removed

    def make_thumbnails(self, limit: int = 32, cancel: threading.Event | None = None) -> tuple[list[int], int]:
        """Make up to `limit` missing thumbnails of indexed photos (a library indexed before
        thumbnails existed, or files the window found missing); returns the ids of those made
        and how many were tried. The newest photos come first."""
        self.claim_writer()
        photos = self.catalog.without_thumbnails(limit)
        made, failed = [], []
        for photo in photos:
            if cancel is not None and cancel.is_set():
                break
            try:
                written = decode_media(photo.path, 16, thumbnail=THUMBNAIL_SIZE).write_thumbnails(self.thumbnails, photo.id)
                assert written
                made.append(photo)
            except (DecodeError, OSError) as exc:
                log.info("no thumbnail for %s: %s", photo.path, exc)
                failed.append(photo)  # marked as made: it is retried when the photo changes
        self.catalog.thumbnails_made(made + failed)
        return [photo.id for photo in made], len(made) + len(failed)

    def remake_thumbnails(self, photo_ids: Iterable[int]) -> None:
        """Thumbnails the window found missing: made again by the next `make_thumbnails`."""
        self.claim_writer()
        self.catalog.thumbnails_wanted(photo_ids)

    # -- search ---------------------------------------------------------------------------

    def query_vector(self, query: str | list[Term], base: Path | None = None) -> np.ndarray:
        terms = parse_query(query, base) if isinstance(query, str) else query
        return search.query_vector(terms, self.spec.dim, lambda texts: self.embedder.encode_texts(texts), self.image_vector)

    def image_vector(self, path: Path) -> np.ndarray:
        """A photo's vector: from the catalog when indexed, else decoded and embedded now."""
        return search.photo_vector(self.catalog, self.spec.name, self.spec.dim, lambda: self.embedder, path)

    def search_vector(
        self,
        vector: np.ndarray,
        k: int = 20,
        cutoff: float | None = None,
        exclude: set[str] | None = None,
        ef: int | None = None,
        where: SearchFilter | None = None,
        fold: bool = False,
    ) -> SearchResults:
        """The k photos nearest `vector` (of those `where` allows), as columns, best first; with
        `fold`, a photo's exact copies and other forms fold into its best-ranked cell."""
        if not fold:
            return search.nearest(self.store, self.catalog, self.spec.name, vector, k, cutoff, exclude, ef, where)
        wider = k + min(k, FOLD_EXTRA)  # folding takes results away: ask for more, keep k
        found = search.nearest(self.store, self.catalog, self.spec.name, vector, wider, cutoff, exclude, ef, where)
        return self.duplicates.fold(found)[:k]

    def search_terms(
        self, terms: list[Term], k: int = 20, cutoff: float | None = None, where: SearchFilter | None = None, fold: bool = False
    ) -> SearchResults:
        """Search by parsed terms, as wide as this graph's calibration says each kind needs (a
        query with words in it sits across the modality gap, far from every photo, where HNSW
        needs a larger ef for the same recall)."""
        words = any(t.kind == "text" for t in terms)
        vector = self.query_vector(terms)
        if words:
            self._unkept_text.append(vector)  # real text queries make the next calibration truer
        ef = self.store.search_ef("text" if words else "image")
        return self.search_vector(vector, k, cutoff, ef=ef, where=where, fold=fold)

    def search(
        self,
        query: str,
        images: Sequence[str | Path] = (),
        k: int = 20,
        cutoff: float | None = None,
        base: Path | None = None,
        where: SearchFilter | None = None,
        fold: bool = False,
    ) -> SearchResults:
        """Text in the query syntax (`beach -people`, `"2:sunset" + ./photo.jpg`) plus image
        paths, among the photos `where` allows; `fold`: see `search_vector`."""
        where = self._checked(where)
        terms = parse_query(query, base) if query.strip() else []
        terms += [Term("image", str(Path(image).expanduser().resolve())) for image in images]
        if not terms:
            raise QuerySyntaxError("the query is empty")
        return self.search_terms(terms, k, cutoff, where, fold)

    def similar(
        self, image: Path, k: int = 20, cutoff: float | None = None, where: SearchFilter | None = None, fold: bool = False
    ) -> SearchResults:
        where = self._checked(where)
        image = image.expanduser().resolve()
        if not image.is_file():
            raise QueryError(f"no such image: {image}")
        ef = self.store.search_ef("image")
        return self.search_vector(self.image_vector(image), k, cutoff, exclude={str(image)}, ef=ef, where=where, fold=fold)

    def _checked(self, where: SearchFilter | None) -> SearchFilter | None:
        """The filter made absolute and checked: bad dates, and folders that hold none of the
        library's photos (a search there would find nothing, for no reason the user could see)."""
        if where is None:
            return None
        where = check_filter(where)
        folders = self._folder_paths()
        for named in map(Path, where.folders):
            holds_one = any(named in folder.parents for folder in folders)
            if not (named in folders or _below_any(named, folders) or holds_one):
                listed = ", ".join(str(f) for f in folders) or "none yet"
                raise QueryError(f"{named} is not in the library, so nothing there can be found (its folders: {listed})")
        return where

    # -- status ---------------------------------------------------------------------------

    def check_catalog(self, full: bool = False, skip: bool = False) -> CatalogHealth:
        """SQLite's quick check of the catalog (see `maintenance.check_catalog`)."""
        return maintenance.check_catalog(self.catalog, self.layout, full, skip)

    def maybe_back_up(self, every_s: float = maintenance.BACKUP_EVERY_S) -> bool:
        """The writer keeps a verified copy of the catalog, refreshed at most every `every_s`.
        A catalog that fails its check raises CatalogDamaged, and is not tried again for
        `every_s` (an idle worker would otherwise copy it whole, again and again)."""
        if self.read_only or not self._writer.held:
            return False
        if self._backup_refused_at is not None and time.monotonic() - self._backup_refused_at < every_s:
            return False
        try:
            return maintenance.back_up_when_due(self.catalog, self.layout, every_s)
        except CatalogDamaged:
            self._backup_refused_at = time.monotonic()
            raise

    def status(self, include_paths: bool = False, check: bool = False, counts_only: bool = False) -> LibraryStatus:
        """Counts, folders, index and catalog health, skipped files; instant at any library size.

        An index this process has open reports on itself; otherwise the health comes from what
        the catalog recorded of the snapshot (no graph is loaded or checksummed). The catalog
        is quick-checked when small, or when `check` asks; never for `counts_only` (a window
        polling while it indexes: the check reads every page and holds the catalog meanwhile)."""
        catalog_health = self.check_catalog(full=check, skip=counts_only)
        if self._store is not None:
            health = self._store.health()
        else:
            health = recorded_health(self.catalog, self.layout.index, self.spec.name, self.spec.dim)
        repair = maintenance.last_index_repair(self.catalog)
        kinds = self.catalog.kind_counts()  # every kind adds up to the library's counts
        if repair:
            health = dataclasses.replace(health, note=f"{health.note}; last repair {repair}")
        return LibraryStatus(
            library=str(self.home),
            model=self.spec.name,
            model_weights="present" if weights_present(self.spec) else "not downloaded",
            folders=tuple(self.folders()),
            photos=_photo_counts({status: sum(counts.get(status, 0) for counts in kinds.values()) for status in _STATUSES}),
            kinds={kind: _photo_counts(counts) for kind, counts in kinds.items()},
            index=health,
            catalog=catalog_health,
            skipped=tuple(SkippedFile(p, r) for p, r in self.catalog.skipped()),
            paths=tuple(self.catalog.indexed_paths()) if include_paths else None,
            excluded=tuple(sorted(self.catalog.excluded())),
            int8=self._int8_line(count=not counts_only),
            duplicates=None if counts_only else self.duplicates.summary(),
        )

    def _int8_line(self, count: bool) -> str:
        """The int8 choice for status: made (and why), being made, or asked for by name; with
        `count`, how many vectors int8 made (a window polling while it indexes leaves it out)."""
        embedder = self._embedder
        trying = embedder.trying_int8 if embedder is not None else None
        if trying is not None:
            return f"deciding: int8 runs beside the exact graph on the first {TRIAL_PHOTOS} photos ({trying} so far)"
        int8 = self.catalog.int8_vectors(self.spec.name) if count else 0
        made = f"; {int8} vectors made by int8" if int8 else ""
        if embedder is not None and not embedder.may_choose_int8:
            return f"{embedder.graph}, as asked for{made}" if embedder.backend.startswith("onnx") else made.lstrip("; ")
        choice = self.int8_choice()
        return f"{choice.why}{made}" if choice is not None else made.lstrip("; ")


def _below_any(path: Path, folders: list[Path]) -> bool:
    """Whether `path` lies inside one of `folders` (below it, not the folder itself)."""
    return any(folder in path.parents for folder in folders)


_STATUSES = ("indexed", "skipped", "pending")


def _photo_counts(counts: dict[str, int]) -> PhotoCounts:
    return PhotoCounts(counts.get("indexed", 0), counts.get("skipped", 0), counts.get("pending", 0))
