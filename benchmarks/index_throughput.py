"""Indexing throughput through the real pipeline vs the model-only ceiling, in one run.

    python benchmarks/index_throughput.py --model ViT-B-32 --photos DIR --json

DIR: any folder of photos; when empty or missing, camera-like 12 MP JPEGs (with EXIF, some
stored rotated) are generated into it. The model is any open_clip architecture with random
weights (speed does not depend on the weights). The ceiling is the same model on ready uint8
tensors, same batch size and thread count, measured before and after the pipeline run (their
mean is used, which cancels slow drift of the machine). Prints
{"images_per_s", "ceiling_images_per_s", "ratio", ...}, plus decoding alone on the same
threads ("decode_only_images_per_s"), which is what bounds a GPU run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photosearch.core.catalog import Catalog
from photosearch.core.cpu import default_threads
from photosearch.core.images import is_photo_path, load_for_model
from photosearch.core.index.store import IndexStore
from photosearch.core.models.embedder import Embedder
from photosearch.core.models.registry import BUILTIN_MODELS, ModelSpec
from photosearch.core.pipeline import Indexer
from photosearch.core.scan import sync_library
from photosearch.core.thumbnails import ThumbnailStore
from photosearch.samples import synthetic

CAMERA_GRAIN = 5.0  # sensor noise that makes a 12 MP JPEG ~3 MB, like a phone's (decoding cost follows file size)


def _write_camera_photo(path: Path, index: int) -> Path:
    rng = random.Random(12_000 + index)
    labels = synthetic.all_labels()
    orientation = rng.choice((1, 1, 6, 8))
    return synthetic.write_photo(path, labels[index % len(labels)], (4032, 3024), rng, orientation, grain=CAMERA_GRAIN)


def ensure_photos(folder: Path, count: int) -> list[Path]:
    """The photos in `folder`, or `count` generated camera-like 12 MP JPEGs (~3 MB, EXIF, some rotated)."""
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(p for p in folder.rglob("*") if p.is_file() and is_photo_path(p))
    if existing:
        return existing
    print(f"generating {count} camera-like 12 MP JPEGs in {folder} …", file=sys.stderr)
    paths = [folder / f"IMG_{i:04d}.jpg" for i in range(count)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(_write_camera_photo, paths, range(count), chunksize=4))


def ceiling(embedder: Embedder, count: int, batch: int) -> float:
    """Images/s of the model alone on ready uint8 tensors (what the pipeline could at best reach)."""
    pixels = np.random.default_rng(0).integers(0, 255, (batch, embedder.image_size, embedder.image_size, 3), dtype=np.uint8)
    embedder.encode_images(pixels)  # warm-up
    done = 0
    started = time.perf_counter()
    while done < count:
        embedder.encode_images(pixels[: min(batch, count - done)])
        done += min(batch, count - done)
    _sync_device(embedder)
    return count / (time.perf_counter() - started)


def decode_ceiling(files: list[Path], size: int, workers: int) -> float:
    """Images/s of decoding alone (`load_for_model` on `workers` threads): the pace on a fast GPU."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(lambda f: load_for_model(f, size), files, chunksize=8):
            pass
    return len(files) / (time.perf_counter() - started)


def _sync_device(embedder: Embedder) -> None:
    if embedder.device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def pipeline(embedder: Embedder, photos: Path, batch: int, workers: int | None, thumbnails: bool = True) -> tuple[float, int]:
    """The app's pipeline (it writes each photo's thumbnail from the same decode), or with
    `thumbnails` False the model's work alone, to show what thumbnails cost."""
    with tempfile.TemporaryDirectory() as scratch:
        catalog = Catalog(Path(scratch) / "catalog.sqlite3")
        catalog.add_folder(str(photos.resolve()))
        store = IndexStore(catalog, Path(scratch) / "index", embedder.spec.name, embedder.dim)
        thumbs = ThumbnailStore(Path(scratch) / "thumbnails") if thumbnails else None
        started = time.perf_counter()
        sync_library(catalog)
        report = Indexer(
            catalog, store, embedder, embedder.spec.name, batch_size=batch, decode_workers=workers, thumbnails=thumbs
        ).run()
        _sync_device(embedder)
        seconds = time.perf_counter() - started
        catalog.close()
    return report.indexed / seconds, report.indexed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ViT-B-32", help="open_clip architecture (random weights)")
    parser.add_argument("--photos", default=str(Path(tempfile.gettempdir()) / "photosearch-bench-photos"))
    parser.add_argument("--count", type=int, default=96, help="photos to generate when --photos is empty")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="torch threads (both measurements)")
    parser.add_argument("--workers", type=int, default=None, help="decode threads (default: cores - 1 on CPU, all cores on GPU)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    photos = Path(args.photos)
    files = ensure_photos(photos, args.count)
    known = next((s for s in BUILTIN_MODELS.values() if s.arch == args.model), None)
    spec = known or ModelSpec(name=args.model, arch=args.model, dim=0, image_size=0, licence="", summary="")
    embedder = Embedder(spec, device=args.device, threads=args.threads, random_weights=True)
    workers = args.workers or (os.cpu_count() or 2 if embedder.device != "cpu" else None)
    first = ceiling(embedder, len(files), args.batch_size)
    rate, indexed = pipeline(embedder, photos, args.batch_size, workers)
    bare, _ = pipeline(embedder, photos, args.batch_size, workers, thumbnails=False)
    second = ceiling(embedder, len(files), args.batch_size)
    top = (first + second) / 2
    decode_workers = workers or default_threads()  # what the Indexer used
    decoding = decode_ceiling(files, embedder.image_size, decode_workers)
    result = {
        "images_per_s": round(rate, 2),
        "ceiling_images_per_s": round(top, 2),
        "ratio": round(rate / top, 3),
        "model": args.model,
        "device": embedder.device,
        "photos": indexed,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "decode_workers": decode_workers,
        "ceiling_before_after": [round(first, 2), round(second, 2)],
        # on a GPU the decoder, not the model, is the limit: how close the pipeline gets to it
        "decode_only_images_per_s": round(decoding, 2),
        "ratio_to_slower_ceiling": round(rate / min(top, decoding), 3),
        # the same pipeline without writing thumbnails: what the grid's thumbnails cost indexing
        "without_thumbnails_images_per_s": round(bare, 2),
        "thumbnail_cost": round(1 - rate / bare, 3),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"pipeline {rate:.1f} photos/s, model-only ceiling {top:.1f} images/s, ratio {rate / top:.0%}")


if __name__ == "__main__":
    main()
