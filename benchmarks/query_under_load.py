"""Queries beat indexing: text-query latency of the live worker while it indexes at full speed.

    python benchmarks/query_under_load.py --library-size 100000 --json

Builds a library of N already-indexed photos (hard links to one small JPEG, with random unit
vectors committed through the catalog's own API, and an index snapshot), starts the real worker
(spawned, default model with random weights: the real architecture's cost, no download), then:
1. idle: sends text queries one at a time and measures each round trip (client send → Results);
2. loaded: adds a folder of new 12 MP camera-like photos, and while the worker indexes them
   sends the same kind of queries, a few per second.
Prints p50/p95 for both phases, the indexing rate during the load phase, the worker's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from common import build_library, ensure_photos, rss_mb

from photosearch.core.models.registry import DEFAULT_MODEL
from photosearch.records import Progress
from photosearch.worker import protocol as p
from photosearch.worker.client import WorkerClient
from photosearch.worker.protocol import WorkerSettings

WORDS = "dog cat beach sunset mountain city night snow car bicycle forest river birthday cake portrait street".split()  # noqa: SIM905


def measure(
    client: WorkerClient, count: int, rng: random.Random, gap_s: float, until: threading.Event | None = None
) -> list[float]:
    latencies = []
    for _ in range(count):
        if until is not None and until.is_set():
            break
        text = " ".join(rng.sample(WORDS, 3))
        started = time.perf_counter()
        client.search(text, k=20)
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(rng.uniform(0.5, 1.5) * gap_s)
    return latencies


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "queries": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "max_ms": round(max(ms), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library-size", type=int, default=100_000)
    parser.add_argument("--new-photos", type=int, default=400, help="new photos indexed during the load phase")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--threads", type=int, default=None, help="worker threads (default: cores - 1)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the generated library (default: a temp dir)")
    parser.add_argument("--backend", default=None, help="inference backend (default: the worker's, auto)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    root = args.work or Path(tempfile.mkdtemp(prefix="photosearch-bench-"))
    home = build_library(root, args.library_size, args.model)
    unique = ensure_photos(root / "camera", 24)
    incoming = root / "incoming"
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir()

    progress: list[Progress] = []
    indexing_done = threading.Event()

    def on_event(event: p.Event) -> None:
        if isinstance(event, p.IndexingProgress):
            progress.append(event.progress)
        elif isinstance(event, p.StateChanged) and event.state == "idle" and progress:
            indexing_done.set()

    settings = WorkerSettings(home=str(home), model=args.model, threads=args.threads, random_weights=True, backend=args.backend)
    client = WorkerClient(settings, on_event=on_event, restart=False).start()
    rng = random.Random(5)
    try:
        while client.status().worker.state != "idle":
            time.sleep(0.2)
        # "idle" means no photos to index; the first idle time also measures the new graph's
        # search breadth and makes the day's catalog backup: wait for both, so idle is idle
        waited = time.monotonic()
        while time.monotonic() - waited < 600:
            status = client.status()
            if status.index.search and status.catalog.backup:
                break
            time.sleep(1.0)
        measure(client, 5, rng, 0.05)  # warm-up
        idle = measure(client, args.queries // 2, rng, 0.1)
        for i in range(args.new_photos):  # hard links: new files for the worker, no disk to fill
            os.link(unique[i % len(unique)], incoming / f"NEW_{i:05d}.jpg")
        client.add_folder(incoming)
        while not progress:
            time.sleep(0.05)
        time.sleep(2.0)  # indexing at full speed
        started = time.monotonic()
        done_before = progress[-1].done
        loaded = measure(client, args.queries, rng, 0.25, until=indexing_done)
        elapsed = time.monotonic() - started
        rate = (progress[-1].done - done_before) / elapsed
        result = {
            "machine": f"{os.cpu_count()} cores",
            "library_photos": args.library_size,
            "model": args.model,
            "backend": getattr(client.status().worker, "inference_backend", None),
            "idle": summary(idle),
            "while_indexing": summary(loaded),
            "indexing_rate_during_queries": round(rate, 2),
            "indexing_finished_during_measurement": indexing_done.is_set(),
            "worker_peak_rss_mb": round(rss_mb(client.pid, "VmHWM:"), 1),
        }
    finally:
        client.shutdown()
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
