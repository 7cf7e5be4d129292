"""The worker's message protocol: typed commands in, typed events out (pickled over a pipe).

`WorkerSettings` travels once, when the process is spawned. Every command carries a request id
chosen by the client; every reply (Reply, Results, Failed) carries it back, so a caller can
match answers and drop stale ones ("latest wins"). Events without a request id (progress,
state, folders, skipped files, errors) are broadcast. Plain
frozen dataclasses of builtins and `photosearch.records` only: both sides can be any Python
process, and nothing here imports torch, numpy or Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from photosearch.errors import UserError, one_line
from photosearch.records import (
    DEFAULT_DUPLICATE_STRICTNESS,
    EVERYWHERE,
    DownloadProgress,
    FolderChange,
    Progress,
    SearchFilter,
    SearchResults,
    WorkerState,
)

FATAL_EXIT = 3  # the worker's exit status when it cannot run at all (library busy or unusable): not restarted
CRASH_EXIT = 70  # its exit status after an unexpected error in one of its threads: restarted
OFFLINE_EXIT = 4  # its library is not there (unplugged, moved, deleted): started again now and then, to see
WRITABLE_EXIT = 5  # a search-only worker found it can write the library now: started again at once, as its writer


@dataclass(frozen=True)
class WorkerSettings:
    """How to start a worker (pickled into the spawned process)."""

    home: str | None = None
    model: str | None = None
    device: str | None = None
    threads: int | None = None  # inference and decode threads; default: cores − 1 for inference, one decode thread per core
    backend: str | None = None  # CPU inference runtime: auto · onnx · onnx-int8 · torch
    batch_size: int = 32
    quiet_s: float = 0.4  # debounce: a batch of events is released after this much silence…
    max_wait_s: float = 3.0  # …or at the latest this long after its first event
    settle_s: float = 1.0  # a file modified more recently than this is probably still being written
    poll_s: float = 2.0  # how often offline folders and the observer are checked
    rescan_s: float = 600.0  # how often a folder that cannot be watched is scanned
    disk_full_retry_s: float = 30.0  # how often writing is tried again while the library's disk is full
    create_library: bool = True  # make the library if it is not there (a first start); never on a restart
    search_only_ok: bool = False  # a library it cannot write (another writer, a read-only folder) is searched, not refused
    random_weights: bool = False  # benchmarks only: a real architecture without downloaded weights


class LibraryOffline(UserError):
    """The worker's library is not there: it exits with OFFLINE_EXIT (never making one)."""


# -- commands (client → worker) ---------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    request_id: int = 0


@dataclass(frozen=True)
class AddFolder(Command):
    path: str = ""


@dataclass(frozen=True)
class RemoveFolder(Command):
    path: str = ""


@dataclass(frozen=True)
class SetExcluded(Command):
    """The folders (inside library folders) to leave out of the library; the reply is the list kept."""

    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pause(Command):
    pass


@dataclass(frozen=True)
class Resume(Command):
    pass


@dataclass(frozen=True)
class Search(Command):
    """Text with the query syntax (`beach -people`, `"2:sunset"`), plus optional image paths."""

    text: str = ""
    images: tuple[str, ...] = ()
    k: int = 20
    cutoff: float | None = None
    where: SearchFilter = EVERYWHERE
    fold: bool = False  # a photo's exact copies and other forms folded into one hit


@dataclass(frozen=True)
class Similar(Command):
    path: str = ""
    k: int = 20
    cutoff: float | None = None
    where: SearchFilter = EVERYWHERE
    fold: bool = False


@dataclass(frozen=True)
class Status(Command):
    include_paths: bool = False
    counts_only: bool = False  # a window's periodic refresh: no catalog check (see Library.status)


@dataclass(frozen=True)
class Duplicates(Command):
    """A page of one kind's duplicate groups; the reply is a DuplicatePage."""

    kind: str = "exact"
    strictness: int = DEFAULT_DUPLICATE_STRICTNESS
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class NotDuplicates(Command):
    """The user says these photos are not duplicates of each other (remembered)."""

    photo_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class MakeThumbnails(Command):
    """The window found these photos' thumbnails missing: the worker makes them again."""

    photo_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class DownloadModel(Command):
    """Download a model's weights (progress as ModelDownload events); the reply is the file's path."""

    name: str = ""


@dataclass(frozen=True)
class CancelDownload(Command):
    pass


@dataclass(frozen=True)
class Shutdown(Command):
    pass


# -- events (worker → client) ------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class Ready(Event):
    pid: int
    model: str
    library: str
    thumbnails: str = ""  # the library's thumbnail folder (files named by records.thumbnail_file)
    models: tuple[str, ...] = ()  # the models this library can switch to (built in and imported)
    without_weights: tuple[str, ...] = ()  # of those, the ones whose weights are not on this computer
    gpu: bool = False  # whether this computer could have a GPU to run the model on


@dataclass(frozen=True)
class Reply(Event):
    """The answer to a command that has no richer answer type (status: a LibraryStatus; others:
    the folder's path, the number of photos removed, or None)."""

    request_id: int
    value: Any = None


@dataclass(frozen=True)
class Results(Event):
    """A search's answer; `hits` travel as columns (see SearchResults)."""

    request_id: int
    hits: SearchResults
    elapsed_ms: float


@dataclass(frozen=True)
class Failed(Event):
    """A command failed; `message` is one line for the user, `plain` the same in the window's
    words when the message speaks of commands and options (see UserError)."""

    request_id: int
    message: str
    plain: str = ""

    @classmethod
    def because(cls, request_id: int, exc: BaseException) -> Failed:
        return cls(request_id, one_line(exc), exc.plain if isinstance(exc, UserError) else "")


@dataclass(frozen=True)
class LibraryChanged(Event):
    """Photos came into the library, left it or changed: a shown search may be answered again."""


@dataclass(frozen=True)
class ThumbnailsMade(Event):
    """Thumbnails written anew (ones the window found missing): a window shows them now."""

    photo_ids: tuple[int, ...]


@dataclass(frozen=True)
class Superseded(Event):
    """A search not run because a newer one came: an answer for no one, never an error."""

    request_id: int


@dataclass(frozen=True)
class IndexingProgress(Event):
    progress: Progress


@dataclass(frozen=True)
class ModelDownload(Event):
    progress: DownloadProgress


@dataclass(frozen=True)
class StateChanged(Event):
    state: WorkerState
    detail: str = ""


@dataclass(frozen=True)
class FolderChanged(Event):
    path: str
    state: FolderChange
    note: str = ""


@dataclass(frozen=True)
class Skipped(Event):
    path: str
    reason: str


@dataclass(frozen=True)
class WorkerProblem(Event):
    """Something the user should know that is not the answer to a command (a watch that failed);
    `plain` as in Failed."""

    message: str
    plain: str = ""


@dataclass(frozen=True)
class WorkerLog(Event):
    """A warning or error the worker logged (its log file has the details): for a window to show."""

    level: int
    logger: str
    message: str


@dataclass(frozen=True)
class WorkerExited(Event):
    """Sent by the client, not the worker: the worker process ended without being asked to."""

    exitcode: int | None
    restarting: bool
    message: str = ""
