"""SIGKILL at random moments while indexing: nothing lost, duplicated or half-written."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from photosearch import synthetic
from photosearch.library import Library

KILLS = 6


def test_random_sigkills_during_indexing_then_resume(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    rng = random.Random(99)
    files = {
        str(synthetic.write_photo(photos / f"{i // 50}" / f"p{i:03d}.jpg", label, (1600, 1200), rng))
        for i, label in enumerate(synthetic.all_labels() * 2)
    }
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 broken")
    library_dir = tmp_path / "library"
    command = [
        sys.executable,
        "-m",
        "photosearch",
        "index",
        str(photos),
        "--library",
        str(library_dir),
        "--model",
        "tiny-shapes",
        "--batch-size",
        "8",
        "--quiet",
    ]
    kill_rng = random.Random(2024)
    progress = []
    for _ in range(KILLS):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(kill_rng.uniform(2.0, 5.0))  # torch import ~2.5 s, then indexing
        process.send_signal(signal.SIGKILL)
        process.wait()
        with Library(library_dir, model="tiny-shapes") as library:  # consistent after every kill
            assert library.catalog.check_integrity() == "ok"
            counts = library.catalog.counts()
            assert library.catalog.embedding_count("tiny-shapes") == counts["indexed"]
            assert len(library.store.index) == counts["indexed"]
            progress.append(counts["indexed"])
    assert progress[-1] > 0, "the kills never let indexing commit anything"
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with Library(library_dir, model="tiny-shapes") as library:
        assert set(library.catalog.indexed_paths()) == files
        assert library.catalog.counts() == {"indexed": len(files), "skipped": 1, "pending": 0}
        status = library.status()
        assert status["index"]["vectors"] == len(files) and status["index"]["healthy"]
        results = library.search("a green triangle", k=4)
        assert len({r.path for r in results}) == 4
    leftovers = [p.name for p in (library_dir / "index").iterdir() if p.suffix == ".tmp"]
    assert leftovers == [] or os.environ.get("CI") is None
