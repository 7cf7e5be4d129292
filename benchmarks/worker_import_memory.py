"""The worker's memory during a large import stays flat: RSS sampled while it indexes N new files.

    python benchmarks/worker_import_memory.py --photos 10000 --json

Generates a few hundred distinct photos (1–3 MP JPEGs) and hard-links them into N files in a
watched folder while the worker (the tiny model: decoding and bookkeeping dominate, which is
where a leak would show) runs; samples the worker's resident memory every half second and prints
it at 10 %, 50 % and 100 % of the import, with the peak.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import rss_mb

from photosearch.records import Progress
from photosearch.samples import synthetic
from photosearch.worker import protocol as p
from photosearch.worker.client import WorkerClient
from photosearch.worker.protocol import WorkerSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--distinct", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="photosearch-memory-"))
    rng = random.Random(3)
    labels = synthetic.all_labels()
    sizes = [(1600, 1200), (2048, 1536), (1200, 900)]
    print(f"generating {args.distinct} photos …", file=sys.stderr)
    distinct = [
        synthetic.write_photo(root / "src" / f"s{i}.jpg", labels[i % len(labels)], sizes[i % 3], rng, rng.choice((1, 6)))
        for i in range(args.distinct)
    ]
    progress: list[Progress] = []
    client = WorkerClient(
        WorkerSettings(home=str(root / "home"), model="tiny-shapes"),
        on_event=lambda e: progress.append(e.progress) if isinstance(e, p.IndexingProgress) else None,
        restart=False,
    ).start()
    samples: list[tuple[int, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            samples.append((progress[-1].done if progress else 0, rss_mb(client.pid)))

    try:
        folder = root / "import"
        folder.mkdir()
        client.add_folder(folder)
        idle_rss = rss_mb(client.pid)
        threading.Thread(target=sample, daemon=True).start()
        started = time.monotonic()
        for i in range(args.photos):  # a camera import: files keep arriving while indexing runs
            target = folder / f"{i // 1000:02d}" / f"IMG_{i:05d}.jpg"
            target.parent.mkdir(exist_ok=True)
            os.link(distinct[i % len(distinct)], target)
        while (counts := client.status().photos).indexed + counts.skipped < args.photos:
            time.sleep(1.0)
        seconds = time.monotonic() - started
        stop.set()
        peak = rss_mb(client.pid, "VmHWM:")

        def at(fraction: float) -> float:
            wanted = fraction * args.photos
            return round(next((mb for done, mb in samples if done >= wanted), samples[-1][1]), 1)

        result = {
            "photos": args.photos,
            "seconds": round(seconds, 1),
            "rss_mb_before": round(idle_rss, 1),
            "rss_mb_at_10pct": at(0.1),
            "rss_mb_at_50pct": at(0.5),
            "rss_mb_at_100pct": at(1.0),
            "peak_rss_mb": round(peak, 1),
        }
    finally:
        stop.set()
        client.shutdown()
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
