"""Re-sync of an unchanged library, and memory while indexing it.

    python benchmarks/resync.py --photos 10000 --json

Writes N small JPEG files (content differs per file; pixel size does not matter to a re-sync,
which must read no pixels), indexes them once with the bundled tiny model, then times
`Library.reconcile()` (walk + stat + diff against the catalog) and a whole no-op `Library.index()`
on the unchanged folders. Also reports the peak RSS of the indexing run.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from photosearch.core.library import Library


def write_files(folder: Path, count: int) -> None:
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    for i in range(count):
        sub = folder / f"{2020 + i % 5}" / f"{i // 500:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        pixels = base.copy()
        pixels[i % 48, (i // 48) % 64] = (i % 256, (i // 256) % 256, 7)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=80)
        (sub / f"IMG_{i:05d}.jpg").write_bytes(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        write_files(root / "photos", args.photos)
        with Library(root / "library", model="tiny-shapes") as library:
            library.add_folder(root / "photos")
            started = time.perf_counter()
            _, report = library.index(batch_size=64)
            index_s = time.perf_counter() - started
            peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            sync_times, noop_times = [], []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                sync = library.reconcile()
                sync_times.append(time.perf_counter() - t0)
                assert sync.touched == 0 and sync.unchanged == args.photos
                t0 = time.perf_counter()
                _, again = library.index()
                noop_times.append(time.perf_counter() - t0)
                assert again.indexed == 0
    result = {
        "photos": args.photos,
        "indexed": report.indexed,
        "first_index_s": round(index_s, 1),
        "resync_s": round(min(sync_times), 3),
        "noop_index_s": round(min(noop_times), 3),
        "peak_rss_mb": round(peak_rss_mb),
    }
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
