"""Keeps one model's vector index in step with the catalog, and its snapshot safe on disk.

The catalog is the truth; the index is derived from it by one mechanism only: replaying the
catalog's change log (at start-up and after every committed batch). Snapshots are written to a
new file, verified and renamed, then recorded in the catalog with their checksum and the last
change they contain. Anything doubtful at start-up (missing, truncated, wrong checksum, counts
that don't add up) is rebuilt from the catalog: minutes of work, never lost data.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from photosearch.records import IndexHealth, SearchCalibration

from ..catalog import Catalog, IndexState
from ..cpu import make_current_thread_background
from .calibration import LEAST_TEXT_QUERIES, METHOD, Calibration, CalibrationStopped, TextSample, calibrate
from .vectors import DEFAULT_EF, EXACT_SEARCH_LIMIT, TEXT_QUERY_EF, IndexCorrupt, VectorIndex

log = logging.getLogger(__name__)

SAVE_EVERY_CHANGES = 5000
SAVE_EVERY_SECONDS = 120.0


def _safe_name(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", model)


class IndexStore:
    def __init__(
        self,
        catalog: Catalog,
        folder: Path,
        model: str,
        dim: int,
        threads: int = 1,
        on_damaged: Callable[[list[int]], int] | None = None,
    ) -> None:
        """`on_damaged(labels)`: called with the labels of stored vectors that cannot be used
        (wrong length, not finite), which the index leaves out; returns how many photos it
        queued to be embedded again (the writer does, a reader cannot)."""
        self.catalog = catalog
        self.folder = folder
        self.model = model
        self.dim = dim
        self.threads = threads
        self.on_damaged = on_damaged
        self.note = "not opened"
        self.damaged = 0  # vectors left out as damaged and not repaired
        self.graph_id = ""  # which build of the graph this is (calibrations belong to one)
        self.calibration: Calibration | None = None
        self._calibrating: tuple[threading.Thread, threading.Event] | None = None
        self._replay_lock = threading.Lock()
        self._saved_seq = 0
        self._saved_at = time.monotonic()
        self.index = self._open()
        self.index.mirror_source = self._all_vectors
        self.calibration = stored_calibration(self.catalog, self.model, self.graph_id)

    def _all_vectors(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every stored vector of the model, from the catalog (fills the index's exact mirror)."""
        return self.catalog.iter_embeddings(self.model, self.dim, damaged=[])

    # -- opening --------------------------------------------------------------------------

    def _open(self) -> VectorIndex:
        state = self.catalog.index_state(self.model)
        if state is not None and state.dim == self.dim:
            try:
                index = self._load(state)
                self._saved_seq = state.applied_seq
                self.graph_id = self.catalog.get_meta(_graph_key(self.model)) or uuid.uuid4().hex
                self.note = "loaded from snapshot"
                self._replay_into(index)
                if len(index) == self.catalog.embedding_count(self.model):
                    return index
                log.warning("index for %s disagrees with the catalog after replay; rebuilding", self.model)
                self.note = "rebuilt: snapshot disagreed with the catalog"
            except (IndexCorrupt, OSError, ValueError, RuntimeError) as exc:
                log.warning("index for %s cannot be used (%s); rebuilding from the catalog", self.model, exc)
                self.note = f"rebuilt: {exc}"
        elif state is not None:
            self.note = "rebuilt: the model's dimension changed"
        else:
            self.note = "built from the catalog"
        return self._build()

    def _load(self, state: IndexState) -> VectorIndex:
        path = self.folder / state.file
        current = self.catalog.embedding_labels(self.model)
        changes = self.catalog.changes_since(self.model, state.applied_seq)
        added_after = np.array([label for _, label, op in changes if op == "add"], dtype=np.int64)
        removed_after = np.array([label for _, label, op in changes if op == "remove"], dtype=np.int64)
        # labels are never reused, so the live set at save time follows from today's and the log
        alive_then = np.setdiff1d(np.union1d(current, removed_after), added_after)
        index = VectorIndex.load(path, self.dim, state.size, state.sha256, alive_then, state.deleted, threads=self.threads)
        index.applied_seq = state.applied_seq
        return index

    def _build(self) -> VectorIndex:
        seq = self.catalog.last_change()  # read first: later changes are replayed after
        count = self.catalog.embedding_count(self.model)
        index = VectorIndex(self.dim, capacity=max(1024, count), threads=self.threads)
        damaged: list[int] = []
        for labels, vectors in self.catalog.iter_embeddings(self.model, self.dim, damaged=damaged):
            index.add(labels, vectors)
        self._left_out(damaged)
        index.applied_seq = seq
        self._saved_seq = -1  # force a snapshot at the next save
        self.graph_id = uuid.uuid4().hex
        self._replay_into(index)
        return index

    # -- keeping up -----------------------------------------------------------------------

    def _replay_into(self, index: VectorIndex) -> int:
        """Apply catalog changes newer than the index; returns how many were applied."""
        with self._replay_lock:
            start: int = index.applied_seq
            changes = self.catalog.changes_since(self.model, start)
            if not changes:
                return 0
            adds = [label for _, label, op in changes if op == "add"]
            removes = [label for _, label, op in changes if op == "remove"]
            damaged: list[int] = []
            for labels, vectors in self.catalog.iter_embeddings(self.model, self.dim, labels=adds, damaged=damaged):
                index.add(labels, vectors)  # a label added then removed in this span is not in the catalog
            index.remove(removes)
            self._left_out(damaged)
            index.applied_seq = changes[-1][0]
            return len(changes)

    def _left_out(self, damaged: list[int]) -> None:
        if not damaged:
            return
        requeued = self.on_damaged(damaged) if self.on_damaged is not None else 0
        log.warning("%d damaged vectors of %s left out of the index; %d photos queued again", len(damaged), self.model, requeued)
        if requeued:
            self.note += f"; repaired: {len(damaged)} damaged vectors dropped, their photos embedded again"
        else:
            self.damaged += len(damaged)
            self.note += f"; {self.damaged} damaged vectors left out (`photosearch index` repairs them)"

    def refresh(self) -> int:
        """Bring the live index up to the catalog, compacting when tombstones pile up."""
        applied = self._replay_into(self.index)
        if self.index.needs_compaction():
            self.stop_calibration()
            with self._replay_lock:
                compacted = self.index.compacted()
                compacted.mirror_source = self._all_vectors
                self.index = compacted
                self._saved_seq = -1
                self.graph_id, self.calibration = uuid.uuid4().hex, None
        return applied

    def maybe_save(self) -> bool:
        """Snapshot when enough changed or enough time passed (bounds the replay after a crash)."""
        seq: int = self.index.applied_seq
        due = seq - self._saved_seq >= SAVE_EVERY_CHANGES or (
            seq != self._saved_seq and time.monotonic() - self._saved_at > SAVE_EVERY_SECONDS
        )
        return self.save() if due else False

    def save(self) -> bool:
        """Write a verified snapshot and record it; returns False when nothing changed."""
        with self._replay_lock:
            index = self.index
            seq: int = index.applied_seq
            if seq == self._saved_seq:
                return False
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"{_safe_name(self.model)}-{seq}.hnsw"
            final = self.folder / name
            temporary = self.folder / (name + ".tmp")
            temporary.unlink(missing_ok=True)
            size, sha256 = index.save(temporary)
            os.replace(temporary, final)
            _fsync_dir(self.folder)
            self.catalog.set_index_state(IndexState(self.model, name, size, sha256, self.dim, seq, len(index), index.deleted))
            self.catalog.set_meta(_graph_key(self.model), self.graph_id)
            self._saved_seq = seq
            self._saved_at = time.monotonic()
        self._remove_old_snapshots(keep=name)
        self.catalog.trim_changes(self.model, seq)
        return True

    def _remove_old_snapshots(self, keep: str) -> None:
        prefix = _safe_name(self.model) + "-"
        for path in self.folder.glob(prefix + "*.hnsw*"):
            if path.name != keep and re.fullmatch(re.escape(prefix) + r"\d+\.hnsw(\.tmp)?", path.name):
                path.unlink(missing_ok=True)

    def health(self) -> IndexHealth:
        """The live index against the catalog (after catching up with it)."""
        self.refresh()
        healthy = len(self.index) == self.catalog.embedding_count(self.model) and not self.damaged
        search = (self.calibration.image, self.calibration.text) if self.calibration else ()
        return IndexHealth(len(self.index), self.index.deleted, healthy, self.note, search)

    # -- search breadth -------------------------------------------------------------------

    def search_ef(self, kind: str) -> int:
        """The breadth to search `kind` ('image' or 'text') queries at: calibrated on this graph,
        else the defaults (benchmarks/search_latency.py chose them)."""
        calibration = self.calibration
        if calibration is not None:
            return calibration.ef(kind)
        return DEFAULT_EF if kind == "image" else TEXT_QUERY_EF

    def needs_calibration(self, user_queries: int = 0) -> bool:
        """A graph large enough to be searched approximately, never measured (a new build, a
        compaction), grown to twice its size since it was, or measured before the user had
        searched half as much as now (`user_queries`: their text queries kept in the library)."""
        size = len(self.index)
        measured = self.calibration
        stale = (
            measured is None
            or size >= 2 * measured.vectors
            or (user_queries >= LEAST_TEXT_QUERIES and user_queries >= 2 * measured.user_queries)
        )
        return stale and size > EXACT_SEARCH_LIMIT and self._calibrating is None

    def calibrate(self, background: bool = False, text_sample: Callable[[], TextSample | None] | None = None) -> None:
        """Measure this graph's recall and record the breadth each kind of query needs. In the
        background it runs at low priority and searches go on with the previous values; an
        interrupted calibration records nothing and is done again next time. `text_sample`:
        gathers real text queries (in the calibrating thread: it may run the text encoder)."""
        index, graph_id, stop = self.index, self.graph_id, threading.Event()

        def work() -> None:
            try:
                if background:
                    make_current_thread_background()
                result = calibrate(
                    index,
                    text_sample=text_sample() if text_sample is not None else None,
                    stop=stop,
                    vectors=lambda: self.catalog.iter_embeddings(self.model, self.dim),
                )
                if graph_id != self.graph_id:
                    return  # the graph was replaced meanwhile: its successor calibrates itself
                # recorded before it is used: what status reports is what the next start finds
                self.catalog.set_meta(_calibration_key(self.model), json.dumps({"graph": graph_id, **dataclasses.asdict(result)}))
                self.calibration = result
                log.info("calibrated %s: %s", self.model, result)
            except CalibrationStopped:
                return
            except Exception:
                if not background:
                    raise
                log.exception("the search breadth was not measured (searches go on at the previous breadth)")
            finally:
                self._calibrating = None  # only now: closing waits for the record to be written

        if not background:
            work()
            return
        thread = threading.Thread(target=work, name="calibration", daemon=True)
        self._calibrating = (thread, stop)
        thread.start()

    def stop_calibration(self) -> None:
        running = self._calibrating
        if running is not None:
            running[1].set()
            running[0].join()


def _graph_key(model: str) -> str:
    return f"graph:{model}"


def _calibration_key(model: str) -> str:
    return f"calibration:{model}"


def stored_calibration(catalog: Catalog, model: str, graph_id: str) -> Calibration | None:
    """The calibration recorded for this build of the graph, if any (else the graph is new)."""
    text = catalog.get_meta(_calibration_key(model))
    if not text or not graph_id:
        return None
    try:
        data = json.loads(text)
        if data.get("graph") != graph_id or data.get("method") != METHOD:
            return None  # another graph's, or measured in a way since replaced: measured again
        return Calibration(
            SearchCalibration(**data["image"]),
            SearchCalibration(**data["text"]),
            float(data["seconds"]),
            int(data.get("vectors", 0)),
            int(data.get("user_queries", 0)),
        )
    except (ValueError, TypeError, KeyError):
        return None


def recorded_health(catalog: Catalog, folder: Path, model: str, dim: int) -> IndexHealth:
    """The index's health from what the catalog recorded, without loading the graph.

    Reading and checksumming a large graph takes seconds; a status line must not. The snapshot
    is checked by its recorded size only: its checksum is verified where the index is opened
    for a search or a write, which rebuilds it if it fails."""
    state = catalog.index_state(model)
    count = catalog.embedding_count(model)
    if state is None:
        note = "no snapshot yet: built from the catalog when first opened" if count else "empty"
        return IndexHealth(count, 0, True, note)
    rebuild = "rebuilt from the catalog when next opened"
    if state.dim != dim:
        return IndexHealth(count, 0, False, f"the model's dimension changed: {rebuild}")
    try:
        size = (folder / state.file).stat().st_size
    except OSError:
        return IndexHealth(count, 0, False, f"snapshot {state.file} is missing: {rebuild}")
    if size != state.size:
        return IndexHealth(count, 0, False, f"snapshot {state.file} has the wrong size: {rebuild}")
    changes = catalog.changes_since(model, state.applied_seq)
    removed = sum(1 for _, _, op in changes if op == "remove")
    added = len(changes) - removed
    healthy = state.vectors + added - removed == count
    note = "snapshot on disk" + (f", {len(changes)} newer changes to replay" if changes else ", up to date")
    if not healthy:
        note = f"snapshot disagrees with the catalog: {rebuild}"
    calibration = stored_calibration(catalog, model, catalog.get_meta(_graph_key(model)) or "")
    search = (calibration.image, calibration.text) if calibration else ()
    return IndexHealth(count, state.deleted + removed, healthy, note, search)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
