"""The `photosearch` command line: thin commands over the library facade and the worker client.

Exit status: 0 success, 2 usage error, 1 any other error with a one-line reason on stderr (the
full traceback of an unexpected error goes to the log file, never to the user). Heavy modules
(the core: numpy, hnswlib; torch behind the embedder) are imported inside the commands, so
`--help` is instant.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photosearch.durations import duration_text
from photosearch.errors import UsageError, UserError
from photosearch.logs import log_unexpected, setup_logging
from photosearch.privacy import keep_new_files_private
from photosearch.records import (
    INFERENCE_BACKENDS,
    MEDIA_KINDS,
    FolderState,
    SearchCalibration,
    SearchFilter,
    SearchHit,
    printable,
    unreadable_note,
)

from . import duplicates, options
from .text import ProgressBar

if TYPE_CHECKING:
    from photosearch.core.library import Library

log = logging.getLogger(__name__)

PROG = "photosearch"
THREADS = options.whole_number(1, options.MAX_THREADS)
LOG_NAME = "photosearch"  # the log file of the command line and the window: <user log dir>/photosearch.log


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--library",
        metavar="DIR",
        type=options.folder_path,
        default=argparse.SUPPRESS,
        help="library folder (default: $PHOTOSEARCH_HOME or the user data dir)",
    )
    parser.add_argument("--model", metavar="NAME", default=argparse.SUPPRESS, help="model name (see `photosearch models`)")
    parser.add_argument(
        "--device", metavar="DEV", type=options.device, default=argparse.SUPPRESS, help="auto (default), cpu, cuda, cuda:N or mps"
    )
    parser.add_argument(
        "--threads", metavar="N", type=THREADS, default=argparse.SUPPRESS, help="CPU threads for inference (default: cores - 1)"
    )
    parser.add_argument(
        "--backend",
        choices=INFERENCE_BACKENDS,
        default=argparse.SUPPRESS,
        help="inference runtime: auto (ONNX Runtime on a CPU, int8 where it proves itself; torch on a GPU), onnx, onnx-int8,"
        " torch",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Search your photos by meaning: text, images, or both.")
    _common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("index", help="add folders to the library and index them (with a progress bar)")
    _common(p)
    p.add_argument("paths", nargs="*", metavar="PATH", help="photo folders to add (none: re-sync the library's folders)")
    p.add_argument("--batch-size", type=options.whole_number(1, 4096), default=32, help="photos per inference batch (default 32)")
    p.add_argument("--workers", type=THREADS, default=None, help="decoding threads (default: one per core, below inference)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("watch", help="keep the library current: watch its folders and index changes until Ctrl+C")
    _common(p)
    p.add_argument("paths", nargs="*", metavar="PATH", help="photo folders to add first (none: the library's folders)")

    p = sub.add_parser("search", help='search by text; combine terms: beach -people, "2:sunset" + ./photo.jpg')
    _common(p)
    p.add_argument("text", nargs="+", metavar="TEXT")
    _result_options(p)

    p = sub.add_parser("similar", help="photos that look like IMAGE")
    _common(p)
    p.add_argument("image", metavar="IMAGE")
    _result_options(p)

    p = sub.add_parser("status", help="folders, counts, model, index health and skipped files")
    _common(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--paths", action="store_true", help="with --json: include every indexed path")
    p.add_argument("--check", action="store_true", help="check the whole catalog file (seconds on a large library)")

    p = sub.add_parser("duplicates", help="list exact copies, the same photo in other forms, and bursts (deletes nothing)")
    _common(p)
    duplicates.add_arguments(p)

    p = sub.add_parser("repair", help="restore a damaged catalog from its backup (the damaged file is kept)")
    _common(p)

    p = sub.add_parser("remove", help="remove a folder (and its photos) from the library; files are not touched")
    _common(p)
    p.add_argument("path", metavar="PATH")

    p = sub.add_parser("exclude", help="leave folders inside library folders out of the library (none: list them)")
    _common(p)
    p.add_argument("paths", nargs="*", metavar="PATH", help="folders to exclude; their photos leave the library")
    p.add_argument("--remove", action="store_true", help="include these folders again instead")

    p = sub.add_parser("models", help="list models (available, downloaded, default) or import a weights file")
    _common(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    models_sub = p.add_subparsers(dest="models_command", metavar="ACTION")
    down = models_sub.add_parser("download", help="download a model's weights now (with a progress bar; Ctrl+C cancels)")
    _common(down)
    down.add_argument("name", metavar="NAME")
    imp = models_sub.add_parser("import", help="import a local weights file (.safetensors, or a torch file)")
    _common(imp)
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--arch", required=True, help="open_clip architecture of the weights, e.g. ViT-B-32")
    imp.add_argument("--name", help="name to select it by (default: ARCH-FILESTEM)")

    p = sub.add_parser("demo", help="create a sample library, index it with the bundled tiny model and search it")
    _common(p)
    p.add_argument("--folder", metavar="DIR", help="where to write the sample photos (default: Pictures/photosearch-demo)")
    p.add_argument("--count", type=options.whole_number(1, 100_000), default=240, help="number of sample photos (default 240)")

    p = sub.add_parser("selftest", help="check this installation end to end, offline, with the bundled tiny model")
    _common(p)

    sub.add_parser(
        "gui",
        help="open the window (the default with no command); `photosearch gui --help` lists its options",
        add_help=False,
    )
    return parser


def _result_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", "--top", type=options.whole_number(1, 100_000), default=20, help="number of results (default 20)")
    p.add_argument(
        "--cutoff", type=options.fraction, default=None, help="keep results scoring at least this fraction of the best (0-1)"
    )
    p.add_argument(
        "--folder",
        metavar="DIR",
        action="append",
        type=options.folder_path,
        default=[],
        help="only photos in this folder, at any depth (repeat for several)",
    )
    p.add_argument("--after", metavar="DATE", help="only photos taken in or after DATE (YYYY, YYYY-MM, YYYY-MM-DD[ HH:MM])")
    p.add_argument("--before", metavar="DATE", help="only photos taken in or before DATE (the period it names is included)")
    p.add_argument(
        "--kind",
        action="append",
        choices=MEDIA_KINDS,
        default=[],
        help="only photos, RAW files (alone or beside their JPEG) or videos (repeat for several)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='print a JSON list of {"path", "score", "id", "taken", "width", "height", "size", "kind"}, '
        'with "at" and "duration" (seconds) for videos and "companions" for a RAW or a Live Photo clip beside the photo',
    )


def _filter(args: argparse.Namespace) -> SearchFilter:
    return SearchFilter(tuple(args.folder), args.after, args.before, tuple(dict.fromkeys(args.kind)))


def _library(args: argparse.Namespace, for_reading: bool = False) -> Library:
    """The library the options name; `for_reading`: the command writes nothing (see Library)."""
    from photosearch.core.library import Library

    home = Path(args.library) if getattr(args, "library", None) else None
    return Library(
        home,
        model=getattr(args, "model", None),
        device=getattr(args, "device", None),
        threads=getattr(args, "threads", None),
        backend=getattr(args, "backend", None),
        for_reading=for_reading,
    )


def cmd_index(args: argparse.Namespace) -> int:
    with _library(args) as library:
        library.load_model()  # a model that cannot load fails here, before anything is written
        for raw in args.paths:
            folder = library.add_folder(Path(raw))
            print(f"library folder: {printable(folder)}", file=sys.stderr)
            if library.holds_the_library(folder):
                print(f"the library itself ({printable(str(library.home))}) is inside it and is left out", file=sys.stderr)
        if not library.folders(counts=False):
            raise UsageError("the library has no folders yet: photosearch index PATH…")
        bar = ProgressBar(not args.quiet)
        try:
            sync, report = library.index(on_progress=bar, batch_size=args.batch_size, decode_workers=args.workers)
        finally:
            bar.finish()
        print(
            f"indexed {report.indexed}, skipped {report.skipped} in {report.seconds:.1f} s "
            f"(new {sync.new}, changed {sync.changed}, moved {sync.moved}, removed {sync.removed}, unchanged {sync.unchanged})"
        )
        for path in sync.offline:
            print(f"folder offline: missing, empty or unreadable (its photos are kept): {printable(path)}", file=sys.stderr)
        for path in sync.unreadable:
            print(unreadable_note(path), file=sys.stderr)
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    from photosearch.worker.protocol import WorkerSettings

    from .watch import run_watch

    settings = WorkerSettings(
        home=str(Path(args.library).expanduser()) if getattr(args, "library", None) else None,
        model=getattr(args, "model", None),
        device=getattr(args, "device", None),
        threads=getattr(args, "threads", None),
        backend=getattr(args, "backend", None),
        create_library=bool(args.paths),  # watching a folder asks for a library; watching nothing does not
    )
    return run_watch(args.paths, settings)


def _print_results(results: Sequence[SearchHit], as_json: bool) -> None:
    if as_json:
        print(json.dumps([_hit_json(r) for r in results], indent=1))
        return
    if not results:
        print("no results (is the library indexed? see `photosearch status`)", file=sys.stderr)
    for r in results:
        extra = "".join(f"  + {printable(os.path.basename(c))}" for c in r.companions)
        print(f"{r.score:.3f}  {printable(r.path)}{_moment(r)}{extra}")


def _moment(hit: SearchHit) -> str:
    """A video hit's matching second, for a terminal line ("" for a still)."""
    return f"  at {duration_text(hit.at)}" if hit.at is not None else ""


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    taken = None
    if hit.taken is not None:  # wall-clock seconds: shown as the camera's clock read
        taken = datetime.fromtimestamp(hit.taken, UTC).strftime("%Y-%m-%d %H:%M:%S")
    found: dict[str, Any] = {
        "path": hit.path,
        "score": round(hit.score, 6),
        "id": hit.id,
        "taken": taken,
        "width": hit.width,
        "height": hit.height,
        "size": hit.size,
        "kind": hit.kind,
    }
    if hit.kind == "video":
        found["at"] = hit.at
        found["duration"] = hit.duration
    if hit.companions:
        found["companions"] = list(hit.companions)
    return found


def cmd_search(args: argparse.Namespace) -> int:
    from photosearch.core.library import parse_query

    parse_query(" ".join(args.text))  # a malformed query is a usage error, whatever the library
    with _library(args, for_reading=True) as library:
        _print_results(library.search(" ".join(args.text), k=args.top, cutoff=args.cutoff, where=_filter(args)), args.json)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    with _library(args, for_reading=True) as library:
        _print_results(library.similar(Path(args.image), k=args.top, cutoff=args.cutoff, where=_filter(args)), args.json)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with _library(args, for_reading=True) as library:
        status = library.status(include_paths=args.paths, check=args.check)
    if args.json:
        print(json.dumps(status.to_json(), indent=1))
        return 0
    photos, index = status.photos, status.index
    print(f"library: {printable(status.library)}")
    print(f"model:   {status.model} (weights {status.model_weights})")
    print(f"photos:  {photos.indexed} indexed, {photos.skipped} skipped, {photos.pending} pending")
    for kind, label in (("raw", "RAW"), ("video", "videos")):
        counts = status.kinds.get(kind)
        if counts is not None and counts.indexed + counts.skipped + counts.pending:
            print(f"  of which {label}: {counts.indexed} indexed, {counts.skipped} skipped, {counts.pending} pending")
    state = "healthy" if index.healthy else "NEEDS REPAIR (run `photosearch index`)"
    print(f"index:   {index.vectors} vectors, {index.deleted} deleted, {state} ({index.note})")
    if index.search:
        print("search:  " + ", ".join(_breadth(c) for c in index.search))
    if status.int8:
        print(f"int8:    {status.int8}")
    if status.duplicates is not None:
        print(f"duplicates: {duplicates.summary_line(status.duplicates)}")
    catalog = status.catalog
    backup = f"; backup of {catalog.backup}" if catalog.backup else "; no backup yet"
    print(f"catalog: {'ok' if catalog.ok else 'DAMAGED'} ({catalog.note}{backup})")
    print("folders:" + ("" if status.folders else " none yet (photosearch index PATH)"))
    for folder in status.folders:
        counts = folder.photos
        print(
            f"  {printable(folder.path)}  ({counts.indexed} indexed, {counts.skipped} skipped, {counts.pending} pending)"
            + ("  [offline]" if folder.state is FolderState.OFFLINE else "")
        )
    if status.excluded:
        print("excluded: " + ", ".join(printable(p) for p in status.excluded))
    if status.skipped:
        print("skipped files:")
        for item in status.skipped:
            print(f"  {printable(item.path)}: {item.reason}")
    return 0


def cmd_duplicates(args: argparse.Namespace) -> int:
    kinds = [args.kind] if args.kind else list(duplicates.KIND_TEXT)
    with _library(args, for_reading=True) as library:
        found = {kind: library.duplicate_groups(kind, args.strictness) for kind in kinds}
        waiting = library.duplicates_waiting()
    duplicates.print_groups(found, waiting, args.json)
    return 0


def _breadth(calibration: SearchCalibration) -> str:
    within = f" within {calibration.ceiling_ms:g} ms" if calibration.ceiling_ms else ""
    bound = f", short of {calibration.target:g}{within}: latency-bound" if calibration.latency_bound else ""
    measured_on = f", measured on {calibration.sample}" if calibration.kind == "text" and calibration.sample else ""
    return f"{calibration.kind} queries at ef {calibration.ef} (recall@10 {calibration.recall:.3f}{bound}{measured_on})"


def cmd_repair(args: argparse.Namespace) -> int:
    from photosearch.core.library import repair_library

    print(repair_library(Path(args.library) if getattr(args, "library", None) else None))
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with _library(args) as library:
        removed = library.remove_folder(Path(args.path))
    print(f"removed {printable(args.path)} and {removed} photos from the library (the files are untouched)")
    return 0


def cmd_exclude(args: argparse.Namespace) -> int:
    with _library(args) as library:
        current = set(library.status(counts_only=True).excluded)
        if args.paths:
            named = {library.excluded_path(p) for p in args.paths}
            chosen = library.set_excluded(current - named if args.remove else current | named)
            sync = library.reconcile()
            print(
                f"library updated: {sync.removed} photos left it, {sync.new} came back (they are indexed next)", file=sys.stderr
            )
        else:
            chosen = tuple(sorted(current))
    for path in chosen:
        print(printable(path))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from photosearch.core.library import import_model, list_models

    home = Path(args.library).expanduser() if getattr(args, "library", None) else None
    if args.models_command == "download":
        return _download(home, args.name)
    if args.models_command == "import":
        info = import_model(home, Path(args.file), args.arch, args.name)
        print(f"imported {info.name} ({info.arch}, {info.dim}-d); use it with --model {info.name}")
        return 0
    models = list_models(home)
    if args.json:
        print(json.dumps([dataclasses.asdict(m) for m in models], indent=1))
        return 0
    for m in models:
        flags = ", ".join(x for x in ("default" if m.default else "", "downloaded" if m.downloaded else "") if x)
        print(f"{m.name:14s} {m.licence:30s} {m.summary}" + (f"  [{flags}]" if flags else ""))
    return 0


def _download(home: Path | None, name: str) -> int:
    import threading

    from photosearch.core.library import download_model

    cancel = threading.Event()
    bar = ProgressBar(True)
    try:
        path = download_model(name, home, on_progress=bar.download, cancel=cancel)
    except KeyboardInterrupt:
        cancel.set()
        raise
    finally:
        bar.finish()
    print(f"{name}: weights at {printable(str(path))}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from photosearch.core.library import Library
    from photosearch.places import demo_folder, demo_library
    from photosearch.samples.demo import DEMO_MODEL, DEMO_QUERIES, generate_library

    started = time.monotonic()
    folder = Path(args.folder).expanduser() if args.folder else demo_folder()
    print(f"writing {args.count} sample photos to {printable(str(folder))} …", file=sys.stderr)
    generate_library(folder, count=args.count)
    home = Path(args.library).expanduser() if getattr(args, "library", None) else demo_library(folder)
    with Library(
        home,
        model=DEMO_MODEL,
        device=getattr(args, "device", None),
        threads=getattr(args, "threads", None),
        backend=getattr(args, "backend", None),
    ) as library:
        library.add_folder(folder)
        bar = ProgressBar(True)
        try:
            _, report = library.index(on_progress=bar)
        finally:
            bar.finish()
        print(
            f"indexed {report.indexed} photos, RAW files and videos ({report.skipped} skipped)"
            f" with the bundled '{DEMO_MODEL}' model\n"
        )
        for query in DEMO_QUERIES:
            print(f'search "{query}":')
            for result in library.search(query, k=5):
                print(f"  {result.score:.3f}  {printable(os.path.relpath(result.path, folder))}{_moment(result)}")
    print(
        f"\ndone in {time.monotonic() - started:.0f} s. Try: photosearch --library {printable(str(home))} search 'white square'"
    )
    return 0


def cmd_selftest(args: argparse.Namespace) -> int:
    from photosearch.samples.selftest import run_selftest

    _TerminalNotes.to_stdout = True
    try:
        return 0 if run_selftest() else 1
    finally:
        _TerminalNotes.to_stdout = False


COMMANDS = {
    "index": cmd_index,
    "watch": cmd_watch,
    "search": cmd_search,
    "similar": cmd_similar,
    "status": cmd_status,
    "duplicates": cmd_duplicates,
    "remove": cmd_remove,
    "exclude": cmd_exclude,
    "repair": cmd_repair,
    "models": cmd_models,
    "demo": cmd_demo,
    "selftest": cmd_selftest,
}


class _TerminalNotes(logging.Handler):
    """One line on stderr per note (looked up each time: it may have been replaced); on stdout
    while `to_stdout` is set (the self-test reports them: its stderr is for failures only)."""

    to_stdout = False

    def emit(self, record: logging.LogRecord) -> None:
        print(f"{PROG}: {printable(record.getMessage())}", file=sys.stdout if self.to_stdout else sys.stderr, flush=True)


def _show_model_notes() -> None:
    """The models' notes (a one-time export for this CPU, a fallback to torch) go to the terminal
    as well as the log: a first search that pauses for an export must say why."""
    models = logging.getLogger("photosearch.core.models")
    if not any(isinstance(handler, _TerminalNotes) for handler in models.handlers):
        models.addHandler(_TerminalNotes(logging.WARNING))


# What an interrupted command keeps, said after "interrupted".
INTERRUPTED = {
    "index": "; indexing resumes where it stopped next time",
    "demo": "; indexing resumes where it stopped next time",
    "models": "; a download keeps what it fetched for next time",
}


def main(argv: Sequence[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()
    keep_new_files_private()
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(LOG_NAME)
    _show_model_notes()
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"{PROG}: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"{PROG}: error: {printable(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted{INTERRUPTED.get(args.command, '')}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`photosearch models | head`): stop quietly, like any tool
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the flush at exit must not fail again
        return 128 + 13  # as a process ended by SIGPIPE reports
    except sqlite3.Error as exc:  # e.g. "database or disk is full"
        print(f"{PROG}: error: catalog: {printable(str(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"{PROG}: error: {printable(str(exc.strerror or exc))}{printable(where)}", file=sys.stderr)
        return 1
    except Exception as exc:  # the user gets one line, the log gets the traceback
        print(f"{PROG}: error: {type(exc).__name__}: {printable(str(exc))}{log_unexpected(log, exc, LOG_NAME)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
