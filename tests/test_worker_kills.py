"""SIGKILL the live worker 20 times while it indexes and while files keep changing under it.

The client restarts it each time; the caller never notices more than a WorkerExited event. After
every kill the catalog is intact (a read-only check while the new worker runs); at the end the
catalog matches the folder exactly, the index matches the catalog, and nothing was lost or
duplicated.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from worker_helpers import converge, make_photo

from photosearch.core.library import Library
from photosearch.records import PhotoCounts
from photosearch.worker import protocol as p
from photosearch.worker.client import WorkerClient
from photosearch.worker.protocol import WorkerSettings

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model

KILLS = 20


class Mutator(threading.Thread):
    """Creates, rewrites, renames, moves and deletes photos at random until stopped."""

    def __init__(self, folder: Path, files: set[Path], seed: int) -> None:
        super().__init__(daemon=True)
        self.folder, self.files, self.rng = folder, files, random.Random(seed)
        self.stop = threading.Event()
        self.counter = 1000
        self.operations = 0

    def run(self) -> None:
        while not self.stop.wait(self.rng.uniform(0.02, 0.15)):
            self.counter += 1
            choice = self.rng.random()
            existing = sorted(self.files)
            if choice < 0.4 or len(existing) < 40:
                path = self.folder / f"sub{self.rng.randrange(3)}" / f"new{self.counter}.jpg"
                make_photo(path, self.counter, seed=31)
                self.files.add(path)
            elif choice < 0.55:
                make_photo(self.rng.choice(existing), self.counter, seed=32)  # rewritten in place
            elif choice < 0.75:
                source = self.rng.choice(existing)
                target = self.folder / f"sub{self.rng.randrange(3)}" / f"moved{self.counter}.jpg"
                target.parent.mkdir(exist_ok=True)
                os.rename(source, target)
                self.files.discard(source)
                self.files.add(target)
            else:
                victim = self.rng.choice(existing)
                victim.unlink()
                self.files.discard(victim)
            self.operations += 1


def _catalog_consistent(catalog: Path, model: str) -> None:
    with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=30) as db:
        assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        indexed = db.execute("SELECT COUNT(*) FROM photos WHERE status='indexed'").fetchone()[0]
        embedded = db.execute(
            "SELECT COUNT(*) FROM embeddings e JOIN photos p ON p.id=e.photo_id WHERE e.model=? AND p.status='indexed'",
            (model,),
        ).fetchone()[0]
        orphans = db.execute("SELECT COUNT(*) FROM embeddings WHERE photo_id NOT IN (SELECT id FROM photos)").fetchone()[0]
    assert indexed == embedded, "every indexed photo has exactly one vector"
    assert orphans == 0


@pytest.mark.slow
def test_twenty_sigkills_while_indexing_and_watching(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    files = {make_photo(folder / f"sub{i % 3}" / f"p{i:03d}.jpg", i, seed=30) for i in range(150)}
    library = tmp_path / "library"
    exits: list[p.WorkerExited] = []
    state = ["starting"]

    def on_event(event: p.Event) -> None:
        if isinstance(event, p.WorkerExited):
            exits.append(event)
            state[0] = "starting"
        elif isinstance(event, p.StateChanged):
            state[0] = event.state

    settings = WorkerSettings(home=str(library), model="tiny-shapes", threads=1, batch_size=8, quiet_s=0.2, settle_s=0.3)
    client = WorkerClient(settings, on_event=on_event, restart_delay_s=0.1).start()
    killed_while: list[str] = []
    mutator = Mutator(folder, files, seed=7)
    rng = random.Random(2026)
    try:
        client.add_folder(folder)
        mutator.start()
        for kill in range(KILLS):
            client.wait_ready(120)
            if rng.random() < 0.3:  # during start-up: scanning, loading the model
                time.sleep(rng.uniform(0.0, 2.0))
            else:  # mid-indexing (the mutator keeps giving it work)
                deadline = time.monotonic() + 30
                while state[0] != "indexing" and time.monotonic() < deadline:
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.0, 0.03))
            killed_while.append(state[0])
            client.kill()
            deadline = time.monotonic() + 60
            while client.restarts <= kill and time.monotonic() < deadline:
                time.sleep(0.05)
            assert client.restarts == kill + 1, "the client restarts a killed worker"
            _catalog_consistent(library / "catalog.sqlite3", "tiny-shapes")
        mutator.stop.set()
        mutator.join()
        client.wait_ready(120)
        status = converge(client, folder, set(files), timeout=180)
        assert status.index.healthy and status.index.vectors == len(files)
        assert status.photos == PhotoCounts(indexed=len(files), skipped=0, pending=0)
    finally:
        mutator.stop.set()
        client.shutdown()
    assert len(exits) == KILLS and all(e.restarting for e in exits)
    assert killed_while.count("indexing") >= 5, killed_while
    assert mutator.operations > 50, "files kept changing while the worker was being killed"
    _catalog_consistent(library / "catalog.sqlite3", "tiny-shapes")
    with Library(library, model="tiny-shapes") as reopened:  # the saved snapshot agrees with the catalog
        assert reopened.store.note == "loaded from snapshot"
        assert sorted(reopened.catalog.indexed_paths()) == sorted(str(f) for f in files)
        labels = reopened.catalog.embedding_labels("tiny-shapes")
        assert len(reopened.store.index) == len(labels) == len(files)
        some = sorted(files)[len(files) // 2]
        assert reopened.similar(some, k=1)[0].path != str(some)  # searchable; itself excluded
