"""How long one search keystroke's text encoding takes, per backend, as the worker runs it.

    python benchmarks/text_query_latency.py --model ViT-B-32-256 --json

The default model's architecture with random weights, one inference thread (the worker's query
thread), queries typed as a user types them: every prefix of a few real sentences, each a new
string (so nothing comes from the embedder's memory of recent queries; that is measured
separately as "repeat"). Prints p50/p95/max in milliseconds per backend, in one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from common import random_weight_spec

from photosearch.core.models.embedder import Embedder
from photosearch.core.models.registry import ModelSpec

SENTENCES = (
    "dog on a beach at sunset",
    "my grandmother's birthday cake with candles",
    "snowy mountains reflected in a lake",
    "red car parked in front of an old brick house",
)


def typed_queries() -> list[str]:
    """Every prefix of every sentence, as the search box sends them (after its debounce)."""
    return [sentence[:end] for sentence in SENTENCES for end in range(3, len(sentence) + 1)]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(spec: ModelSpec, backend: str, threads: int) -> dict[str, object]:
    embedder = Embedder(spec, device="cpu", threads=threads, random_weights=True, backend=backend)
    embedder.encode_texts(["warm up"])
    times = []
    for query in typed_queries():
        started = time.perf_counter()
        embedder.encode_texts([query])
        times.append((time.perf_counter() - started) * 1000)
    repeats = []
    for query in typed_queries()[:40]:
        started = time.perf_counter()
        embedder.encode_texts([query])
        repeats.append((time.perf_counter() - started) * 1000)
    return {
        "backend": embedder.backend,
        "note": embedder.note,
        "queries": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "max_ms": round(max(times), 2),
        "repeat_p50_ms": round(statistics.median(repeats), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ViT-B-32-256", help="open_clip architecture (random weights)")
    parser.add_argument("--backends", default="torch,onnx")
    parser.add_argument("--threads", type=int, default=1, help="inference threads (the worker's query thread: 1)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    spec = random_weight_spec(args.model)
    results = [measure(spec, backend, args.threads) for backend in args.backends.split(",")]
    if args.json:
        print(json.dumps({"model": args.model, "threads": args.threads, "backends": results}))
    else:
        for result in results:
            print(f"{result['backend']}: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms over {result['queries']} queries")


if __name__ == "__main__":
    main()
