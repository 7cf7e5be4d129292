"""What an hnswlib built for any x86-64 CPU (the installers' build) costs in search latency,
against the development build compiled for this machine's CPU (-march=native), in one run.

    python benchmarks/hnswlib_portable.py --portable-python build/installer-env/bin/python --size 100000 --json
        [--also x86-64-v3=PYTHON]   # another build, e.g. CFLAGS=-march=x86-64-v3 on PYTHONPATH

One graph (CLIP-like 512-d vectors, the app's M and ef_construction) is built once and saved;
each interpreter then loads the same file in a child process and answers the same queries one
at a time on one thread, at the app's image and text breadths (DEFAULT_EF, TEXT_QUERY_EF).
The children take turns, three rounds each, so the machine's noise falls on both. The
results must be the same neighbours: the builds differ in instructions, not in the graph.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import clip_like, cpu_name

from photosearch.core.index.vectors import DEFAULT_EF, DEFAULT_EF_CONSTRUCTION, DEFAULT_M, TEXT_QUERY_EF

# The child: only numpy and hnswlib, so it runs in the installers' build environment too.
CHILD = r"""
import json, sys, time
import hnswlib, numpy as np
path, queries_file, dim, count, ef, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), 10
index = hnswlib.Index(space="cosine", dim=dim)
index.load_index(path, max_elements=count)
index.set_num_threads(1)
index.set_ef(ef)
queries = np.load(queries_file)
for query in queries[:20]:
    index.knn_query(query[None, :], k=k)
times, labels = [], []
for query in queries:
    started = time.perf_counter()
    found, _ = index.knn_query(query[None, :], k=k)
    times.append(time.perf_counter() - started)
    labels.append(found[0].tolist())
ms = np.array(times) * 1000
print(json.dumps({"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)), "labels": labels}))
"""


def measure(python: str, index_file: Path, queries_file: Path, dim: int, count: int, ef: int) -> dict[str, object]:
    command = [python, "-c", CHILD, str(index_file), str(queries_file), str(dim), str(count), str(ef)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout))


def instructions(python: str) -> dict[str, int]:
    """AVX-512 and AVX register uses in that interpreter's hnswlib (objdump)."""
    command = [python, "-c", "import hnswlib; print(hnswlib.__file__)"]
    where = subprocess.run(command, capture_output=True, text=True, check=True)
    listing = subprocess.run(["objdump", "-d", where.stdout.strip()], capture_output=True, text=True, check=True).stdout
    return {"zmm": listing.count("%zmm"), "ymm": listing.count("%ymm"), "xmm": listing.count("%xmm")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--portable-python", required=True, help="an interpreter whose hnswlib was built with HNSWLIB_NO_NATIVE=1"
    )
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="NAME=PYTHON",
        help="another build to compare (e.g. x86-64-v3=/path/python)",
    )
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import hnswlib

    dim = 512
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((max(50, args.size // 200), dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = 1.0 / np.arange(1, len(centres) + 1) ** 0.8
    weights /= weights.sum()
    data = clip_like(args.size + args.queries, dim, rng, centres, weights)
    queries = data[args.size :]
    builds = {"native": sys.executable, "portable": args.portable_python}
    builds.update(dict(item.split("=", 1) for item in args.also))
    report: dict[str, object] = {
        "cpu": cpu_name(),
        "size": args.size,
        "instructions": {name: instructions(python) for name, python in builds.items()},
    }
    with tempfile.TemporaryDirectory() as scratch:
        index = hnswlib.Index(space="cosine", dim=dim)
        index.init_index(max_elements=args.size, M=DEFAULT_M, ef_construction=DEFAULT_EF_CONSTRUCTION)
        index.add_items(data[: args.size], np.arange(args.size))
        index_file, queries_file = Path(scratch) / "graph.bin", Path(scratch) / "queries.npy"
        index.save_index(str(index_file))
        np.save(queries_file, queries)
        for kind, ef in (("image", DEFAULT_EF), ("text", TEXT_QUERY_EF)):
            runs: dict[str, list[dict[str, object]]] = {name: [] for name in builds}
            for _ in range(args.rounds):
                for name, python in builds.items():
                    runs[name].append(measure(python, index_file, queries_file, dim, args.size, ef))
            same = all(results[0]["labels"] == runs["native"][0]["labels"] for results in runs.values())
            best = {name: min(float(r["p50_ms"]) for r in results) for name, results in runs.items()}  # type: ignore[arg-type]
            best95 = {name: min(float(r["p95_ms"]) for r in results) for name, results in runs.items()}  # type: ignore[arg-type]
            report[kind] = {
                "ef": ef,
                "p50_ms": {name: round(value, 3) for name, value in best.items()},
                "p95_ms": {name: round(value, 3) for name, value in best95.items()},
                "over_native_p50": {name: round(best[name] / best["native"], 2) for name in builds if name != "native"},
                "same_neighbours": same,
            }
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{report['cpu']}, {args.size} vectors; instructions {report['instructions']}")
    for kind in ("image", "text"):
        row = report[kind]
        assert isinstance(row, dict)
        print(f"{kind:5} ef={row['ef']}: p50 {row['p50_ms']}, p95 {row['p95_ms']}; over native {row['over_native_p50']}")


if __name__ == "__main__":
    main()
