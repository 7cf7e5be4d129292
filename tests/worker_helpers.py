"""Helpers for tests that drive a real worker process (spawned, tiny model, real watchdog)."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path

from photosearch.records import LibraryStatus, WorkerStats
from photosearch.samples import synthetic
from photosearch.worker.client import WorkerClient

LABELS = synthetic.shape_labels()


def make_photo(path: Path, index: int, seed: int = 0, size: tuple[int, int] = (320, 240)) -> Path:
    """A small generated photo whose content depends on (index, seed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    label = LABELS[index % len(LABELS)]
    return synthetic.write_photo(path, label, size, random.Random(seed * 100_003 + index))


def converge(
    client: WorkerClient,
    under: Path,
    expected: set[Path],
    timeout: float = 60.0,
    extra: Callable[[LibraryStatus], bool] | None = None,
) -> LibraryStatus:
    """Wait until the worker is idle and the indexed paths below `under` are exactly `expected`."""
    prefix = os.path.join(under, "")
    want = {str(p) for p in expected}
    deadline = time.monotonic() + timeout
    got: set[str] = set()
    status: LibraryStatus | None = None
    while time.monotonic() < deadline:
        status = client.status(include_paths=True)
        got = {p for p in status.paths or () if p.startswith(prefix)}
        worker = status.worker
        if got == want and worker is not None and worker.idle and status.photos.pending == 0 and (extra is None or extra(status)):
            return status
        time.sleep(0.25)
    raise AssertionError(
        f"did not converge in {timeout} s: missing {sorted(want - got)[:5]}, unexpected {sorted(got - want)[:5]}, "
        f"worker {status.worker if status else None}, photos {status.photos if status else None}"
    )


def stats(client: WorkerClient) -> WorkerStats:
    worker = client.status().worker
    assert worker is not None
    return worker.stats
