"""What checking an export's digests costs at every start: SHA-256 of each graph, against just
reading the same bytes (the floor), in one run.

    python benchmarks/export_digests.py [EXPORT_FOLDER] [--json]

Without a folder it measures the real-architecture export the tests keep (ViT-B-32 with random
weights, the size of the default model's export) in build/test-cache/exports, or makes one.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from photosearch.core.models.export_cache import MANIFEST, export_cache_dir, file_digest


def _read_only(path: Path) -> None:
    with open(path, "rb") as handle:
        while handle.read(1 << 20):
            pass


def _best_of(runs: int, work: object) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def measure(folder: Path) -> dict[str, object]:
    files = sorted(p for p in folder.iterdir() if p.suffix == ".onnx")
    size = sum(p.stat().st_size for p in files)
    for path in files:  # warm the page cache: a start after the first reads from memory
        _read_only(path)
    hashing = _best_of(3, lambda: [file_digest(p) for p in files])
    reading = _best_of(3, lambda: [_read_only(p) for p in files])
    return {
        "folder": str(folder),
        "files": [p.name for p in files],
        "megabytes": round(size / 1e6, 1),
        "sha256_s": round(hashing, 3),
        "read_only_s": round(reading, 3),
        "sha256_mb_per_s": round(size / 1e6 / hashing),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = args.folder
    if folder is None:
        root = Path(__file__).resolve().parents[1] / "build" / "test-cache" / "exports"
        found = [p for p in root.glob("ViT-B-32-*") if (p / MANIFEST).is_file()] if root.is_dir() else []
        if not found:
            import os

            from common import random_weight_spec

            from photosearch.core.models.embedder import Embedder

            os.environ["PHOTOSEARCH_EXPORT_CACHE"] = str(root)
            Embedder(random_weight_spec("ViT-B-32"), device="cpu", random_weights=True)
            found = [p for p in root.glob("ViT-B-32-*") if (p / MANIFEST).is_file()]
        folder = found[0] if found else export_cache_dir()
    result = measure(folder)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
