"""How long `photosearch status --json` takes on a large library (it must not load the graph).

    python benchmarks/status_latency.py --library-size 100000 --work /tmp/status-bench --json

Builds (or reuses, under --work) the library of the query-under-load benchmark: N indexed photos
with random 512-d vectors and an index snapshot. Then runs the real command line in a fresh
process, as a user would, `--repeats` times, and reports the median and the slowest wall time;
with `--python`/`--pythonpath` it times another checkout's command line on the same library (the
before/after comparison in docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import build_library

from photosearch.core.models.registry import DEFAULT_MODEL


def time_status(home: Path, python: str, pythonpath: str | None, repeats: int) -> list[float]:
    env = dict(os.environ, PHOTOSEARCH_HOME=str(home))
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = subprocess.run(  # run from that checkout: `-m` puts the working directory first on sys.path
            [python, "-m", "photosearch", "status", "--json"], env=env, capture_output=True, text=True, cwd=pythonpath
        )
        seconds.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit(result.stderr)
        status = json.loads(result.stdout)
    print(
        f"vectors {status['index']['vectors']}, healthy {status['index']['healthy']}: {status['index']['note']}", file=sys.stderr
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library-size", type=int, default=100_000)
    parser.add_argument("--work", type=Path, required=True, help="folder for the library (reused when it is there)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--python", default=sys.executable, help="the interpreter whose photosearch is timed")
    parser.add_argument("--pythonpath", help="PYTHONPATH for it (another checkout's root)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    home = args.work / "home"
    if not (home / "catalog.sqlite3").exists():
        home = build_library(args.work, args.library_size, args.model)
    seconds = time_status(home, args.python, args.pythonpath, args.repeats)
    result = {
        "library_size": args.library_size,
        "repeats": args.repeats,
        "median_s": round(statistics.median(seconds), 3),
        "max_s": round(max(seconds), 3),
        "code": args.pythonpath or "this checkout",
    }
    print(json.dumps(result, indent=1) if args.json else result)


if __name__ == "__main__":
    main()
