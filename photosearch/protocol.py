"""The worker's message protocol: typed commands in, typed events out (pickled over a pipe).

Every command carries a request id chosen by the client; every reply (Reply, Results, Failed)
carries it back, so a caller can match answers and drop stale ones ("latest wins"). Events
without a request id (progress, state, folders, skipped files, errors) are broadcast. Plain
frozen dataclasses of builtins only: both sides can be any Python process, and nothing here
imports torch or Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Similar(Command):
    path: str = ""
    k: int = 20
    cutoff: float | None = None


@dataclass(frozen=True)
class Status(Command):
    include_paths: bool = False


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


@dataclass(frozen=True)
class Reply(Event):
    """The answer to a command that has no richer answer type (status: a dict; others: None)."""

    request_id: int
    value: Any = None


@dataclass(frozen=True)
class Hit:
    path: str
    score: float


@dataclass(frozen=True)
class Results(Event):
    request_id: int
    hits: tuple[Hit, ...]
    elapsed_ms: float


@dataclass(frozen=True)
class Failed(Event):
    """A command failed; `message` is one line for the user."""

    request_id: int
    message: str


@dataclass(frozen=True)
class Progress(Event):
    done: int
    total: int
    skipped: int
    rate: float
    eta_s: float | None


@dataclass(frozen=True)
class StateChanged(Event):
    """starting · scanning · indexing · idle · paused · stopping"""

    state: str
    detail: str = ""


@dataclass(frozen=True)
class FolderChanged(Event):
    path: str
    state: str  # online · offline · removed · added
    note: str = ""


@dataclass(frozen=True)
class Skipped(Event):
    path: str
    reason: str


@dataclass(frozen=True)
class WorkerProblem(Event):
    """Something the user should know that is not the answer to a command (a watch that failed)."""

    message: str


@dataclass(frozen=True)
class WorkerExited(Event):
    """Sent by the client, not the worker: the worker process ended without being asked to."""

    exitcode: int | None
    restarting: bool
    message: str = ""
