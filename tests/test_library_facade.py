"""The library facade as the one door: writes take the writer lock, status never loads the graph,
records are typed, and logs go to files rather than terminals."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_shapes

from photosearch import logs
from photosearch.core.fingerprint import fingerprint
from photosearch.core.library import Library
from photosearch.core.writer_lock import LibraryBusy
from photosearch.errors import UserError
from photosearch.records import FolderState, FolderStatus, LibraryStatus, PhotoCounts
from photosearch.samples import synthetic
from photosearch.worker import protocol as p
from photosearch.worker.client import WorkerClient

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model

LABELS = synthetic.shape_labels()


def _indexed_library(home: Path, photos: Path, count: int = 6) -> None:
    write_shapes(photos, LABELS[:count], 3)
    with Library(home, model="tiny-shapes", threads=2) as library:
        library.add_folder(photos)
        library.index()


def test_status_reads_the_recorded_index_state_without_opening_the_graph(tmp_path: Path) -> None:
    home, photos = tmp_path / "library", tmp_path / "photos"
    _indexed_library(home, photos)
    with Library(home, model="tiny-shapes") as library:
        status = library.status()
        assert library._store is None, "status opened the vector index"
        assert isinstance(status, LibraryStatus)
        assert status.index.vectors == 6 and status.index.healthy and "snapshot on disk" in status.index.note
        assert status.folders == (FolderStatus(str(photos.resolve()), FolderState.ONLINE, PhotoCounts(6, 0, 0)),)
        # a photo removed since the snapshot: the recorded state plus the change log still add up
        library.claim_writer()
        folder_id = library.catalog.folders()[0].id
        gone = next(iter(library.catalog.photos_in_folder(folder_id).values()))
        Path(gone.path).unlink()
        library.catalog.apply_scan([], [], [], [gone.id])
        status = library.status()
        assert library._store is None
        assert status.index.vectors == 5 and status.index.healthy and "1 newer changes to replay" in status.index.note


def test_status_reports_a_missing_snapshot_and_the_next_open_rebuilds_it(tmp_path: Path) -> None:
    home, photos = tmp_path / "library", tmp_path / "photos"
    _indexed_library(home, photos)
    for snapshot in (home / "index").glob("*.hnsw"):
        snapshot.unlink()
    with Library(home, model="tiny-shapes") as library:
        status = library.status()
        assert not status.index.healthy and "missing" in status.index.note
        assert len(library.search("a red circle", k=3)) == 3  # opening for a search rebuilds
        assert library.status().index.healthy


def test_status_json_holds_no_index_load(tmp_path: Path) -> None:
    """The command line's status on a library whose snapshot is garbage still answers at once,
    without noticing: only opening the index verifies its checksum."""
    home, photos = tmp_path / "library", tmp_path / "photos"
    _indexed_library(home, photos)
    snapshot = next((home / "index").glob("*.hnsw"))
    snapshot.write_bytes(b"\0" * snapshot.stat().st_size)  # same size, wrong content
    env = dict(os.environ, PHOTOSEARCH_HOME=str(home))
    result = subprocess.run([sys.executable, "-m", "photosearch", "status", "--json"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["index"]["vectors"] == 6
    with Library(home, model="tiny-shapes") as library:
        assert len(library.search("a red circle", k=2)) == 2 and library.store.note.startswith("rebuilt")


def test_every_write_takes_the_writer_lock(tmp_path: Path) -> None:
    home, photos = tmp_path / "library", tmp_path / "photos"
    write_shapes(photos, LABELS[:2], 4)
    with Library(home, model="tiny-shapes") as writer, Library(home, model="tiny-shapes") as other:
        writer.claim_writer()
        for write in (
            lambda: other.add_folder(photos),
            lambda: other.reconcile(),
            lambda: other.sync_paths([str(photos)]),
            lambda: other.prepare_indexing(),
        ):
            with pytest.raises(LibraryBusy):
                write()
        assert other.folders() == []  # nothing was written
        assert isinstance(LibraryBusy("x"), UserError)


def test_the_pipeline_fingerprints_from_the_decode_open(library: Library, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    paths = write_shapes(photos, LABELS[:3], 5)
    library.add_folder(photos)
    library.index()
    rows = library.catalog.photos_in_folder(1)
    assert {row.fingerprint for row in rows.values()} == {fingerprint(p) for p in paths}


def test_the_cli_writes_tracebacks_to_its_log_file_not_the_terminal(tmp_path: Path) -> None:
    # a bug stands in for the command (what is under test is how the CLI reports one)
    code = (
        "import sys, photosearch.cli.main as cli\ncli.COMMANDS['status'] = lambda args: 1 // 0\nsys.exit(cli.main(['status']))\n"
    )
    env = dict(os.environ, PHOTOSEARCH_LOG_DIR=str(tmp_path / "logs"))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "ZeroDivisionError" in result.stderr
    assert "Traceback" not in result.stderr and "details in" in result.stderr
    assert "Traceback" in (tmp_path / "logs" / "photosearch.log").read_text()


def test_a_user_error_is_one_line_and_logs_nothing(tmp_path: Path) -> None:
    home = tmp_path / "library"
    home.mkdir()
    (home / "catalog.sqlite3").write_bytes(b"SQLite format 3\0" + b"\x07" * 4000)  # a damaged catalog
    env = dict(os.environ, PHOTOSEARCH_HOME=str(home), PHOTOSEARCH_LOG_DIR=str(tmp_path / "logs"))
    result = subprocess.run([sys.executable, "-m", "photosearch", "status"], env=env, capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.startswith("photosearch: error: ")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_logging_goes_to_a_rotating_file_and_survives_a_missing_stderr(tmp_path: Path) -> None:
    code = (
        "import sys, logging, warnings\n"
        "sys.stderr = None\n"
        "from photosearch.logs import setup_logging\n"
        "path = setup_logging('probe')\n"
        "logging.getLogger('photosearch.core.catalog').warning('a warning for the file')\n"
        "warnings.warn('a python warning')\n"
        "print(path)\n"
    )
    env = dict(os.environ, PHOTOSEARCH_LOG_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == ""
    text = (tmp_path / "probe.log").read_text()
    assert "photosearch.core.catalog WARNING a warning for the file" in text and "a python warning" in text
    assert logs.log_file("probe").name == "probe.log"


def test_the_worker_forwards_its_warnings_and_the_client_logs_broken_listeners(tmp_path: Path) -> None:
    home, photos = tmp_path / "library", tmp_path / "photos"
    _indexed_library(home, photos, count=3)
    for snapshot in (home / "index").glob("*.hnsw"):
        snapshot.write_bytes(b"garbage")  # the worker logs a warning when it rebuilds the index
    events: list[p.Event] = []

    def listener(event: p.Event) -> None:
        events.append(event)
        if isinstance(event, p.Ready):
            raise RuntimeError("a broken listener")

    logged: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = logged.append  # type: ignore[method-assign,assignment]
    client_log = logging.getLogger("photosearch.worker.client")
    client_log.addHandler(handler)
    settings = p.WorkerSettings(home=str(home), model="tiny-shapes", threads=1)
    with WorkerClient(settings, on_event=listener) as client:
        client.start()
        assert client.search("a red circle", k=2).hits
        deadline = time.monotonic() + 30
        while not any(isinstance(e, p.WorkerLog) for e in events) and time.monotonic() < deadline:
            time.sleep(0.1)
    forwarded = [e for e in events if isinstance(e, p.WorkerLog)]
    assert forwarded and forwarded[0].level == logging.WARNING and "rebuilding" in forwarded[0].message
    assert forwarded[0].logger == "photosearch.core.index.store"
    client_log.removeHandler(handler)
    assert any("listener failed" in r.getMessage() and r.exc_info for r in logged)


def test_cached_weights_reads_the_hub_cache_as_huggingface_hub_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import try_to_load_from_cache

    from photosearch.core.models.registry import BUILTIN_MODELS, cached_weights

    monkeypatch.setenv("PHOTOSEARCH_MODEL_CACHE", str(tmp_path))
    spec = BUILTIN_MODELS["ViT-B-32"]
    assert spec.hub_repo and cached_weights(spec) is None
    repo = tmp_path / ("models--" + spec.hub_repo.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / "open_clip_model.safetensors").write_bytes(b"weights")
    theirs = try_to_load_from_cache(spec.hub_repo, "open_clip_model.safetensors", cache_dir=str(tmp_path))
    assert cached_weights(spec) == Path(str(theirs))


def test_a_waiting_lock_waits_for_another_process_but_not_for_ever(tmp_path: Path) -> None:
    """A model export waits while another process makes the same one, and gives up with a
    reason on a holder that never lets go (the same polling on every system)."""
    from photosearch.core.writer_lock import LockWaitTooLong, waiting_lock

    path = tmp_path / "export.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from photosearch.core.writer_lock import waiting_lock\n"
            "with waiting_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(float(sys.argv[2]))",
            str(path),
            "2.0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        held_at = time.monotonic()
        with pytest.raises(LockWaitTooLong, match="has held"), waiting_lock(path, timeout_s=0.5):
            pass
        assert time.monotonic() - held_at >= 0.5  # it waited before giving up
        with waiting_lock(path, timeout_s=30):  # it waits for the holder to let go, then holds it
            assert time.monotonic() - held_at >= 1.5
    finally:
        holder.kill()
        holder.wait()


def test_indexing_threads_run_below_searches_on_every_system() -> None:
    """Linux: a thread's nice value; Windows: a lower thread priority; macOS: the utility QoS
    class (each on the thread itself, never the whole process: searches stay at normal)."""
    import threading

    from photosearch.core.cpu import DECODE_NICE, make_current_thread_background

    done: dict[str, object] = {}

    def lowered() -> None:
        done["ok"] = make_current_thread_background(DECODE_NICE)
        if sys.platform.startswith("linux"):
            done["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    thread = threading.Thread(target=lowered)
    thread.start()
    thread.join()
    assert done["ok"] is True
    if sys.platform.startswith("linux"):
        assert done["nice"] == min(19, os.getpriority(os.PRIO_PROCESS, 0) + DECODE_NICE)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == os.getpriority(os.PRIO_PROCESS, 0)
