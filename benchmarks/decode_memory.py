"""Peak memory of indexing a folder of huge, highly compressed photos, by decode threads.

    python benchmarks/decode_memory.py --json

Writes three valid 225-megapixel PNGs of flat colour (a few hundred kilobytes each, under the
250 MP limit: each decodes into ~675 MB), then indexes them with the tiny model in a fresh
process per configuration — 1 and 3 decode threads, with the shared decode budget and without
it (`--budget 0`: unlimited, as before the budget existed) — and reports each process's peak
RSS (VmHWM). With the budget, peak memory must not grow with the thread count.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

SIDE = 15_000  # 225 MP
COLOURS = ((200, 30, 30), (30, 30, 200), (30, 160, 60))


def write_photos(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, colour in enumerate(COLOURS):
        path = folder / f"huge-{i}.png"
        if not path.exists():
            Image.new("RGB", (SIDE, SIDE), colour).save(path, compress_level=9)
        paths.append(path)
    return paths


CHILD = """
import sys, time
from pathlib import Path
from photosearch.core.catalog import Catalog
from photosearch.core.index.store import IndexStore
from photosearch.core.models.embedder import Embedder
from photosearch.core.models.registry import TINY_MODEL_NAME, get_model
from photosearch.core.pipeline import Indexer
from photosearch.core.scan import sync_library

photos, scratch, threads, budget = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
embedder = Embedder(get_model(TINY_MODEL_NAME), device="cpu", threads=1)
catalog = Catalog(scratch / "catalog.sqlite3")
catalog.add_folder(str(photos))
sync_library(catalog)
store = IndexStore(catalog, scratch / "index", embedder.spec.name, embedder.dim)
started = time.monotonic()
indexer = Indexer(catalog, store, embedder, embedder.spec.name, batch_size=4, decode_workers=threads,
                  decode_budget=budget or 1 << 62)
report = indexer.run()
seconds = time.monotonic() - started
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) // 1024
print(f"{report.indexed} {report.skipped} {peak} {seconds:.1f}")
"""


def measure(photos: Path, threads: int, budget: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(photos), scratch, str(threads), str(budget)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    indexed, skipped, peak, seconds = int(out[0]), int(out[1]), int(out[2]), float(out[3])
    return {"threads": threads, "budget": budget or "unlimited", "indexed": indexed, "skipped": skipped,
            "peak_rss_mb": peak, "seconds": seconds}  # fmt: skip


def main() -> None:
    from photosearch.core.memory_budget import DEFAULT_DECODE_BUDGET

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "photosearch-huge-pngs")
    parser.add_argument("--budget", type=int, default=DEFAULT_DECODE_BUDGET, help="bytes; 0 = unlimited")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--compare", action="store_true", help="also run without a budget")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    photos = args.work
    write_photos(photos)
    budgets = [args.budget, 0] if args.compare else [args.budget]
    rows = [measure(photos, threads, budget) for budget in budgets for threads in args.threads]
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for row in rows:
            print(row)


if __name__ == "__main__":
    main()
