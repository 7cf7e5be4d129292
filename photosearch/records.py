"""Plain frozen records that cross rooms and processes (core → worker → client → CLI or window).

Builtins and tuples only, nothing that imports numpy, torch or Qt: they are pickled over the
worker's pipe and read by the window's process. `to_json` gives the shape that
`photosearch status --json` documents.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SearchHit:
    path: str
    score: float


@dataclass(frozen=True)
class Progress:
    """How far an indexing run has come; `total` grows when photos arrive during the run."""

    done: int
    total: int
    skipped: int
    rate: float  # photos per second over this run
    eta_s: float | None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass(frozen=True)
class SyncReport:
    """What a scan found: counts of each kind of change, and the folders found offline."""

    new: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    offline: tuple[str, ...] = ()

    @property
    def touched(self) -> int:
        return self.new + self.changed + self.moved + self.removed


@dataclass(frozen=True)
class IndexReport:
    indexed: int
    skipped: int
    seconds: float
    cancelled: bool


@dataclass(frozen=True)
class PhotoCounts:
    indexed: int = 0
    skipped: int = 0
    pending: int = 0


@dataclass(frozen=True)
class FolderStatus:
    path: str
    state: str  # online · offline
    photos: PhotoCounts = PhotoCounts()


@dataclass(frozen=True)
class IndexHealth:
    vectors: int
    deleted: int
    healthy: bool
    note: str


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class WorkerStats:
    """Counters since the worker started (tests and `status` read them)."""

    syncs: int = 0
    embedded: int = 0
    skipped: int = 0
    reconciles: int = 0
    queries: int = 0
    events: int = 0


@dataclass(frozen=True)
class WorkerStatus:
    pid: int
    state: str  # starting · scanning · loading model · indexing · idle · paused · stopping
    paused: bool
    dirty_paths: int  # changed paths waiting for their debounce
    idle: bool  # nothing to do: no pending photos, no jobs, no changes waiting
    watched: tuple[str, ...]
    inference_threads: int
    decode_threads: int
    stats: WorkerStats


@dataclass(frozen=True)
class LibraryStatus:
    library: str
    model: str
    model_weights: str  # present · not downloaded
    folders: tuple[FolderStatus, ...]
    photos: PhotoCounts
    index: IndexHealth
    skipped: tuple[SkippedFile, ...]
    paths: tuple[str, ...] | None = None  # every indexed path, when asked for
    worker: WorkerStatus | None = None  # when answered by a running worker

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("paths", "worker"):
            if data[key] is None:
                del data[key]
        return data


@dataclass(frozen=True)
class ModelInfo:
    """A model the user can choose, as `photosearch models` lists it."""

    name: str
    arch: str
    pretrained: str | None
    dim: int
    licence: str
    downloaded: bool
    default: bool
    summary: str
