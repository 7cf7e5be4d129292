"""A full disk is a state to wait out, not a crash: real tmpfs file systems filled to the brim."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import small_disk
from worker_helpers import converge, make_photo

from photosearch.worker import protocol as p
from photosearch.worker.client import WorkerClient
from photosearch.worker.protocol import WorkerSettings

pytestmark = pytest.mark.usefixtures("tiny_model")


def _fill(disk: Path) -> Path:
    """Fill the file system at `disk` to its last byte; returns the filler file."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for chunk in (1 << 20, 1 << 12, 1):  # large writes, then the last few bytes
            try:
                while True:
                    handle.write(b"\0" * chunk)
            except OSError:
                pass
    return filler


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", "24m") as mounted:
        yield mounted


def test_a_full_disk_pauses_indexing_keeps_searching_and_resumes_by_itself(disk: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    first = {make_photo(photos / f"{i}.jpg", i) for i in range(4)}
    events: list[p.Event] = []
    settings = WorkerSettings(home=str(disk / "library"), threads=1, quiet_s=0.2, settle_s=0.2, disk_full_retry_s=1.0)
    with WorkerClient(settings, on_event=events.append).start() as client:
        client.add_folder(photos)
        converge(client, photos, first)
        pid = client.pid
        filler = _fill(disk)
        more = {make_photo(photos / f"{i}.jpg", i) for i in range(4, 30)}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            isinstance(e, p.StateChanged) and e.state == "disk full" for e in list(events)
        ):
            time.sleep(0.2)
        time.sleep(3)  # several retries' worth
        problems = [e.message for e in list(events) if isinstance(e, p.WorkerProblem)]
        assert [m for m in problems if m.startswith("disk full: indexing paused")] == problems[:1] and problems, problems
        assert client.pid == pid and client.restarts == 0, "the worker kept running"
        assert client.status().worker.state == "disk full"  # type: ignore[union-attr]
        assert len(client.search("a red circle", k=4).hits) == 4, "searching goes on"
        filler.unlink()  # the user made room
        converge(client, photos, first | more, timeout=90)
        assert client.pid == pid and client.restarts == 0
