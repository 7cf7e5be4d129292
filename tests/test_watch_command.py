"""`photosearch watch` end to end: a real process, real signals, other commands working beside it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from worker_helpers import make_photo

from photosearch.core.library import Library

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model


def _cli(*args: str, library: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "photosearch", *args, "--library", str(library), "--model", "tiny-shapes"]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _indexed_paths(library: Path) -> set[str]:
    result = _cli("status", "--json", "--paths", library=library)
    if "no library at" in result.stderr:
        return set()  # not made yet: the worker makes it as it starts
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout)["paths"])


def _wait_for(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.3)
    raise AssertionError("timed out")


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no SIGTERM: a signal there ends the process at once")
def test_watch_indexes_live_answers_other_commands_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    photos, library = tmp_path / "photos", tmp_path / "library"
    first = [make_photo(photos / f"p{i}.jpg", i, seed=40) for i in range(4)]
    command = [sys.executable, "-m", "photosearch", "watch", str(photos), "--library", str(library), "--model", "tiny-shapes"]
    watcher = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _indexed_paths(library) == {str(f) for f in first})
        later = make_photo(photos / "later.jpg", 9, seed=41)  # appears while watching
        _wait_for(lambda: str(later) in _indexed_paths(library))
        found = _cli("similar", str(later), "--json", "-k", "3", library=library)  # a reader beside the worker
        assert found.returncode == 0, found.stderr
        busy = _cli("index", str(photos), library=library)  # but not a second writer
        assert busy.returncode == 1 and "another photosearch process" in busy.stderr
    finally:
        watcher.send_signal(signal.SIGTERM)
        _, stderr = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, stderr
    assert "stopped" in stderr and "Traceback" not in stderr
    status = json.loads(_cli("status", "--json", library=library).stdout)
    assert status["photos"]["indexed"] == 5 and status["index"]["healthy"]
    assert not any(p.endswith(".tmp") for p in os.listdir(library / "index"))


def test_watch_without_folders_is_an_error(tmp_path: Path) -> None:
    """Watching nothing makes no library, and a library without folders has nothing to watch."""
    result = _cli("watch", library=tmp_path / "library")
    assert result.returncode == 1 and "no library at" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "library").exists()
    Library(tmp_path / "library", model="tiny-shapes").close()  # made, without folders
    result = _cli("watch", library=tmp_path / "library")
    assert result.returncode == 1
    assert "no folders" in result.stderr and "Traceback" not in result.stderr


def test_a_worker_that_dies_before_its_first_answer_is_replaced_and_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`watch` once exited 1 when its worker died between saying Ready and answering the first
    request (a crash, an OOM kill): adding a folder and asking for status may be repeated, so the
    client asks the worker that replaces it. A real worker, killed at its first Ready."""
    import io
    import threading

    from photosearch.cli import watch
    from photosearch.worker import protocol as p
    from photosearch.worker.protocol import WorkerSettings

    photos, library = tmp_path / "photos", tmp_path / "library"
    make_photo(photos / "a.jpg", 1, seed=42)
    killed: list[int] = []
    heard = watch.StatusLine.on_event

    def kill_the_first_worker(line: watch.StatusLine, event: p.Event) -> None:
        if isinstance(event, p.Ready) and not killed:
            killed.append(event.pid)
            os.kill(event.pid, signal.SIGKILL)
        heard(line, event)

    monkeypatch.setattr(watch.StatusLine, "on_event", kill_the_first_worker)

    def stop_once_indexed() -> None:
        _wait_for(lambda: _indexed_paths(library) == {str(photos / "a.jpg")})
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C

    threading.Timer(0.2, stop_once_indexed).start()
    out = io.StringIO()
    code = watch.run_watch([str(photos)], WorkerSettings(home=str(library), model="tiny-shapes", threads=1), out)
    assert killed and code == 0, out.getvalue()
    assert "stopped unexpectedly" in out.getvalue() and "watching 1 folder(s)" in out.getvalue()
