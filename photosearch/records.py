"""Plain frozen records that cross rooms and processes (core → worker → client → CLI or window).

Builtins and tuples only, nothing that imports numpy, torch or Qt: they are pickled over the
worker's pipe and read by the window's process. `to_json` gives the shape that
`photosearch status --json` documents.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, overload

INFERENCE_BACKENDS = ("auto", "onnx", "onnx-int8", "torch")  # auto: ONNX Runtime on a CPU, torch on a GPU
DUPLICATE_KINDS = ("exact", "same", "burst")  # the same bytes · the same photo in another form · one moment
DUPLICATE_STRICTNESS = range(1, 5)  # 1 strictest … 4 loosest (core/duplicates/kinds.py)
DEFAULT_DUPLICATE_STRICTNESS = 2


@dataclass(frozen=True)
class SearchHit:
    """One photo found. `taken`: when it was taken (EXIF, else the file's modification time) as
    wall-clock seconds, i.e. the local date and time counted as if it were UTC, so that it shows
    as the camera's clock did in any time zone; None when unknown."""

    path: str
    score: float
    id: int = 0
    taken: float | None = None
    width: int = 0
    height: int = 0
    size: int = 0
    folded: int = 1  # results this cell stands for: the photo and its copies and other forms (when folded)
    kind: str = "photo"  # MEDIA_KINDS: a photo, a RAW file (alone or developed beside it), a video
    at: float | None = None  # a video: the seconds into it of the frame that matched best
    duration: float | None = None  # a video's length in seconds
    companions: tuple[str, ...] = ()  # the item's other files: the RAW beside its JPEG, a Live Photo's clip


# photo id, path, taken, width, height, size, kind, frame time, duration, companions
HitRow = tuple[int, str, float | None, int, int, int, str, float | None, float | None, tuple[str, ...]]


def _column(typecode: str, values: Iterable[Any] = ()) -> array:
    return array(typecode, values)


def _seconds(column: array, index: int) -> float | None:
    """A video's time from a column where stills hold -1 (or that is empty: no videos)."""
    value = float(column[index]) if len(column) else -1.0
    return None if value < 0 else value


@dataclass(frozen=True)
class SearchResults(Sequence[SearchHit]):
    """Hits as columns, best first: what crosses the worker's pipe and feeds a grid.

    100,000 hit objects take ~90 ms to unpickle, holding the GIL of the window's process; these
    typed arrays and one tuple of paths take a tenth of that. Indexing or iterating gives
    SearchHit records for callers that want rows."""

    ids: array = field(default_factory=lambda: _column("q"))  # photo ids
    paths: tuple[str, ...] = ()
    scores: array = field(default_factory=lambda: _column("f"))  # cosine similarity
    taken: array = field(default_factory=lambda: _column("d"))  # wall-clock seconds (see SearchHit), NaN unknown
    widths: array = field(default_factory=lambda: _column("i"))  # upright pixels
    heights: array = field(default_factory=lambda: _column("i"))
    sizes: array = field(default_factory=lambda: _column("q"))  # bytes
    folded: array = field(default_factory=lambda: _column("i"))  # see SearchHit.folded; empty: 1 each
    # RAW files and videos: each column is empty when no row needs it (results of photos alone
    # cost what they always did)
    kinds: tuple[str, ...] = ()  # see SearchHit.kind (one interned string per row: pickled once)
    at: array = field(default_factory=lambda: _column("d"))  # see SearchHit.at, -1 for stills
    durations: array = field(default_factory=lambda: _column("d"))  # -1 for stills
    companions: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def of(cls, hits: Iterable[SearchHit]) -> SearchResults:
        listed = list(hits)
        return cls.from_rows(
            [(h.id, h.path, h.taken, h.width, h.height, h.size, h.kind, h.at, h.duration, h.companions) for h in listed],
            [h.score for h in listed],
        )

    @classmethod
    def from_rows(cls, rows: Sequence[HitRow], scores: Sequence[float]) -> SearchResults:
        """Columns from HitRow rows and their scores, without a SearchHit object per row (a search
        of 100,000 results builds them this way)."""
        if not rows:
            return cls()
        ids, paths, taken, widths, heights, sizes, kinds, at, durations, companions = zip(*rows, strict=True)
        stills = all(k == "photo" for k in kinds)
        return cls(
            _column("q", ids),
            paths,
            _column("f", scores),
            _column("d", (math.nan if t is None else t for t in taken)),
            _column("i", widths),
            _column("i", heights),
            _column("q", sizes),
            kinds=() if stills else tuple(sys.intern(k) for k in kinds),
            at=_column("d") if stills else _column("d", (-1.0 if a is None else a for a in at)),
            durations=_column("d") if stills else _column("d", (-1.0 if d is None else d for d in durations)),
            companions=companions if any(companions) else (),
        )

    def __len__(self) -> int:
        return len(self.paths)

    @overload
    def __getitem__(self, index: int) -> SearchHit: ...
    @overload
    def __getitem__(self, index: slice) -> SearchResults: ...
    def __getitem__(self, index: int | slice) -> SearchHit | SearchResults:
        if isinstance(index, slice):
            return SearchResults(
                self.ids[index],
                self.paths[index],
                self.scores[index],
                self.taken[index],
                self.widths[index],
                self.heights[index],
                self.sizes[index],
                self.folded[index] if len(self.folded) else self.folded,
                self.kinds[index],
                self.at[index],
                self.durations[index],
                self.companions[index],
            )
        taken = self.taken[index]
        return SearchHit(
            self.paths[index],
            float(self.scores[index]),
            int(self.ids[index]),
            None if math.isnan(taken) else float(taken),
            int(self.widths[index]),
            int(self.heights[index]),
            int(self.sizes[index]),
            int(self.folded[index]) if len(self.folded) else 1,
            self.kinds[index] if self.kinds else "photo",
            _seconds(self.at, index),
            _seconds(self.durations, index),
            self.companions[index] if self.companions else (),
        )

    def picked(self, rows: Sequence[int], folded: Sequence[int]) -> SearchResults:
        """These rows, in this order, each standing for `folded` results."""
        return SearchResults(
            _column("q", (self.ids[i] for i in rows)),
            tuple(self.paths[i] for i in rows),
            _column("f", (self.scores[i] for i in rows)),
            _column("d", (self.taken[i] for i in rows)),
            _column("i", (self.widths[i] for i in rows)),
            _column("i", (self.heights[i] for i in rows)),
            _column("q", (self.sizes[i] for i in rows)),
            _column("i", folded),
            tuple(self.kinds[i] for i in rows) if self.kinds else (),
            _column("d", (self.at[i] for i in rows)) if len(self.at) else _column("d"),
            _column("d", (self.durations[i] for i in rows)) if len(self.durations) else _column("d"),
            tuple(self.companions[i] for i in rows) if self.companions else (),
        )

    def paths_of(self, row: int) -> tuple[str, ...]:
        """Every file of a row's item: the shown one first, then its companions (what a drag
        out or a copy carries)."""
        return (self.paths[row], *(self.companions[row] if self.companions else ()))

    def __iter__(self) -> Iterator[SearchHit]:
        return (self[i] for i in range(len(self)))


@dataclass(frozen=True)
class SearchFilter:
    """Which photos a search may return: below any of `folders` (all when empty), taken in the
    periods `after` … `before` names, both included ("2024", "2024-06", "2024-06-30 18:00"), of
    the `kinds` named: "photo" (stills, a RAW developed beside them included), "raw" (items with
    a RAW file), "video" (clips that are not a Live Photo's)."""

    folders: tuple[str, ...] = ()
    after: str | None = None
    before: str | None = None
    kinds: tuple[str, ...] = ()  # MEDIA_KINDS the results may be (all when empty)

    @property
    def active(self) -> bool:
        return bool(self.folders or self.after or self.before or self.kinds)


EVERYWHERE = SearchFilter()  # no filter


def thumbnail_file(folder: str, photo_id: int, at: float | None = None) -> str:
    """Where the thumbnail of a photo lies in a library's thumbnail folder (the worker writes it,
    the window reads it: both processes name it with this one function). A video's frame `at`
    seconds has its own, in the video's own folder (removed with it in one step)."""
    bucket = os.path.join(folder, f"{photo_id // 1000:05d}")
    if at is None:
        return os.path.join(bucket, f"{photo_id}.jpg")
    return os.path.join(bucket, str(photo_id), f"{frame_ms(at)}.jpg")


def frame_ms(at: float) -> int:
    """A frame's time as the catalog keys it: whole milliseconds."""
    return round(at * 1000)


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
    """What a scan found: counts of each kind of change, the folders found offline, the
    folders it could not read."""

    new: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    offline: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()  # folders (or too long paths) that could not be read: their photos are kept

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


# the file names a library takes for photos (the decoders' own list is in core/images.py)
PHOTO_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic", ".heif", ".hif", ".avif"}
)
# camera RAW files LibRaw reads (core/raw.py)
RAW_SUFFIXES: frozenset[str] = frozenset(
    {".dng", ".nef", ".nrw", ".cr2", ".cr3", ".crw", ".arw", ".srf", ".sr2", ".raf", ".rw2", ".orf", ".pef", ".srw", ".x3f"}
    | {".3fr", ".iiq", ".rwl", ".erf", ".mrw", ".kdc", ".dcr", ".mef", ".mos"}
)
# videos, read by FFmpeg through PyAV (core/video.py)
VIDEO_SUFFIXES: frozenset[str] = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".3gp", ".3g2"})
MEDIA_SUFFIXES: frozenset[str] = PHOTO_SUFFIXES | RAW_SUFFIXES | VIDEO_SUFFIXES
MEDIA_KINDS = ("photo", "raw", "video")


def kind_of_path(path: str) -> str | None:
    """ "photo", "raw" or "video" by the file's name; None for a file a library does not take."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix in PHOTO_SUFFIXES:
        return "photo"
    if suffix in RAW_SUFFIXES:
        return "raw"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return None


class WorkerState(StrEnum):
    """What the worker is doing: defined once, for the worker, its client, the command line and
    the window (a StrEnum, so it crosses the pipe and prints as its words)."""

    STARTING = "starting"
    SCANNING = "scanning"
    LOADING_MODEL = "loading model"
    MODEL_UNAVAILABLE = "model unavailable"  # folders stay current; nothing is embedded or searched
    INDEXING = "indexing"
    MAKING_THUMBNAILS = "making thumbnails"
    FINDING_DUPLICATES = "finding duplicates"  # an existing library's photos, grouped when idle
    IDLE = "idle"
    PAUSED = "paused"
    DISK_FULL = "disk full"  # writing paused until there is room; searching goes on
    SEARCH_ONLY = "search only"  # the library cannot be written here now: searched, not indexed
    STOPPING = "stopping"


class FolderState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"  # missing, empty or unreadable while it holds photos: its photos are kept


class FolderChange(StrEnum):
    """What happened to a library folder (the worker's FolderChanged event)."""

    ADDED = "added"
    REMOVED = "removed"
    ONLINE = "online"
    OFFLINE = "offline"


ModelWeights = Literal["present", "not downloaded"]


@dataclass(frozen=True)
class FolderStatus:
    path: str
    state: FolderState
    photos: PhotoCounts = PhotoCounts()


@dataclass(frozen=True)
class SearchCalibration:
    """The search breadth chosen for one kind of query from recall measured on this library's graph."""

    kind: str  # image · text
    ef: int
    recall: float  # recall@10 against exact search, measured at `ef`
    p95_ms: float  # one search at `ef`, measured meanwhile
    target: float
    latency_bound: bool  # the latency ceiling stopped the search for a larger ef before the target
    sample: str = ""  # what was searched to measure it (held-back photos, the user's own searches…)
    ceiling_ms: float = 0.0  # the p95 one search of this kind may take


@dataclass(frozen=True)
class IndexHealth:
    vectors: int
    deleted: int
    healthy: bool
    note: str
    search: tuple[SearchCalibration, ...] = ()  # empty: exact search (a small library) or not calibrated yet


@dataclass(frozen=True)
class CatalogHealth:
    """The catalog file's own health: SQLite's quick check (where cheap, or asked for) and its backup."""

    checked: bool  # the quick check ran (it reads every page: skipped on a large catalog unless asked)
    ok: bool  # nothing wrong was found (True when not checked)
    note: str
    backup: str | None  # when the last verified backup was made, if there is one


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
    state: WorkerState
    paused: bool
    dirty_paths: int  # changed paths waiting for their debounce
    idle: bool  # nothing to do: no pending photos, no jobs, no changes waiting
    watched: tuple[str, ...]
    inference_threads: int
    decode_threads: int
    stats: WorkerStats
    inference_backend: str | None = None  # onnx · onnx-int8 · torch; None while the model loads
    backend_note: str | None = None  # why the backend asked for is not the one in use


@dataclass(frozen=True)
class DuplicatePhoto:
    photo_id: int
    path: str
    size: int  # bytes
    width: int
    height: int
    taken: str | None  # EXIF capture time, when the photo has one
    sharpness: float | None = None  # bursts: the variance of the thumbnail's Laplacian (higher is sharper)


@dataclass(frozen=True)
class DuplicateGroup:
    """Photos that are duplicates of one kind: exact (the same bytes), same (the same photo in
    another form) or burst (shots of one moment)."""

    kind: str
    photos: tuple[DuplicatePhoto, ...]  # the suggested keeper first
    keep_because: str

    @property
    def reclaimable(self) -> int:
        """Bytes that moving all but the keeper to the trash would free."""
        return sum(photo.size for photo in self.photos[1:])


@dataclass(frozen=True)
class DuplicateSummary:
    strictness: int
    groups: dict[str, int]  # kind → how many groups
    reclaimable: dict[str, int]  # kind → bytes all but the largest photo of each group hold
    waiting: int  # photos not grouped yet (an existing library is grouped when the worker is idle)


@dataclass(frozen=True)
class DuplicatePage:
    """A page of one kind's groups, for a window that shows a hundred thousand of them."""

    kind: str
    strictness: int
    offset: int
    total: int  # groups of this kind at this strictness
    groups: tuple[DuplicateGroup, ...]
    summary: DuplicateSummary


@dataclass(frozen=True)
class LibraryStatus:
    library: str
    model: str
    model_weights: ModelWeights
    folders: tuple[FolderStatus, ...]
    photos: PhotoCounts
    index: IndexHealth
    catalog: CatalogHealth
    skipped: tuple[SkippedFile, ...]
    paths: tuple[str, ...] | None = None  # every indexed path, when asked for
    worker: WorkerStatus | None = None  # when answered by a running worker
    excluded: tuple[str, ...] = ()  # folders inside library folders that are left out of it
    int8: str = ""  # whether the int8 image graph makes this library's vectors, and why (one line)
    duplicates: DuplicateSummary | None = None  # None: not asked for (it may take a moment)
    kinds: dict[str, PhotoCounts] = field(default_factory=dict)  # files per kind: photo, raw, video

    @property
    def searchable(self) -> bool:
        """Whether the library's model can answer searches (its weights are here, and a running
        worker did not fail to load it)."""
        worker_failed = self.worker is not None and self.worker.state is WorkerState.MODEL_UNAVAILABLE
        return self.model_weights == "present" and not worker_failed

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("paths", "worker"):
            if data[key] is None:
                del data[key]
        return data


@dataclass(frozen=True)
class DownloadProgress:
    """How far a model's weights download has come (`total` is None when the server does not say)."""

    model: str
    done: int  # bytes
    total: int | None
    rate: float  # bytes per second in this attempt

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


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


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


PATH_MAX_BYTES = 4096  # the longest path Linux opens (macOS: 1,024; Windows' long paths: 32,767)


def unreadable_note(path: str) -> str:
    """What to tell the user about a path a scan could not read (from SyncReport.unreadable)."""
    if len(path.encode("utf-8", "surrogateescape")) >= PATH_MAX_BYTES:
        return f"path too long for the system to open, so it is not in the library: {printable(path)}"
    return f"folder unreadable (its photos are kept): {printable(path)}"


def printable(text: str) -> str:
    """`text` (a path, or a message naming one) as a person can read it on one line.

    Bytes of a file name that are not UTF-8 show as `\\xNN`; control characters (a newline or an
    escape sequence inside a name) and bidirectional overrides are escaped, so a hostile name
    cannot break a line, a terminal or a table. The stored path is never changed, only shown."""
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no file name decoding produced
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if text.isprintable():
        return text
    return "".join(char.encode("unicode_escape").decode("ascii") if _breaks_a_line(char) else char for char in text)


def _breaks_a_line(char: str) -> bool:
    """Control characters, line and paragraph separators, bidirectional overrides (not the
    joiners and other format characters that emoji and scripts need)."""
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI_CONTROLS
