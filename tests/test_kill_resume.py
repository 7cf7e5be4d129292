"""SIGKILL at random moments while indexing: nothing lost, duplicated or half-written."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photosearch.core.library import Library
from photosearch.samples import synthetic

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model

KILLS = 8


def _indexed_count(catalog: Path) -> int:
    try:
        with sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM photos WHERE status='indexed'").fetchone()[0])
    except sqlite3.Error:
        return 0


def _kill_at_a_random_moment(command: list[str], catalog: Path, rng: random.Random) -> None:
    """Kill during start-up/sync now and then, but mostly just after indexing made progress."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if rng.random() < 0.25:
        time.sleep(rng.uniform(0.3, 3.0))
    else:
        before = _indexed_count(catalog)
        deadline = time.monotonic() + 60
        while process.poll() is None and _indexed_count(catalog) <= before and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))
    process.kill()  # SIGKILL on POSIX, TerminateProcess on Windows: no chance to clean up either way
    process.wait()


@pytest.mark.slow
def test_random_sigkills_during_indexing_then_resume(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    rng = random.Random(99)
    files = {
        str(synthetic.write_photo(photos / f"{i // 100}" / f"p{i:03d}.jpg", label, (800, 600), rng))
        for i, label in enumerate(synthetic.all_labels() * 5)
    }
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 broken")
    library_dir = tmp_path / "library"
    command = [
        sys.executable, "-m", "photosearch", "index", str(photos), "--library", str(library_dir),
        "--model", "tiny-shapes", "--batch-size", "8", "--quiet",
    ]  # fmt: skip
    kill_rng = random.Random(2024)
    progress = []
    for _ in range(KILLS):
        _kill_at_a_random_moment(command, library_dir / "catalog.sqlite3", kill_rng)
        with Library(library_dir, model="tiny-shapes") as library:  # consistent after every kill
            assert library.catalog.check_integrity() == "ok"
            counts = library.catalog.counts()
            assert library.catalog.embedding_count("tiny-shapes") == counts["indexed"]
            assert len(library.store.index) == counts["indexed"]
            assert set(library.catalog.indexed_paths()) <= files
            progress.append(counts["indexed"])
    assert any(0 < p < len(files) for p in progress), f"no kill landed mid-indexing: {progress}"
    assert progress == sorted(progress), "a kill lost committed work"
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with Library(library_dir, model="tiny-shapes") as library:
        assert set(library.catalog.indexed_paths()) == files
        assert library.catalog.counts() == {"indexed": len(files), "skipped": 1, "pending": 0}
        status = library.status()
        assert status.index.vectors == len(files) and status.index.healthy
        results = library.search("a green triangle", k=4)
        assert len({r.path for r in results}) == 4
