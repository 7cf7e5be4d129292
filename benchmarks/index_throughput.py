"""Indexing throughput of each inference backend through the real pipeline, against the limits, in one run.

    python benchmarks/index_throughput.py --model ViT-B-32-256 --photos DIR --json

DIR: any folder of photos; when empty or missing, camera-like 12 MP JPEGs (with EXIF, some
stored rotated) are generated into it. The model is any open_clip architecture with random
weights (speed does not depend on the weights). Measured, in this order, in one process:

- decoding alone (`load_for_model` plus the thumbnail, as the pipeline does it) on the decode
  threads: photos/s and core-seconds per photo (process CPU time over photos);
- for each backend (--backends, default torch and onnx on a CPU): the model alone on ready
  uint8 batches before and after the pipeline run (their mean cancels slow drift), its
  core-seconds per image, and the pipeline itself (photos/s, thumbnails written);
- the combined limit of each backend on a CPU, where decoding and inference share the cores:
  cores / (decode core-s + inference core-s per photo), and the pipeline's share of it;
- with --baseline, an rclip-like indexer on the same photos: every photo decoded at full size
  in one thread (PIL open, convert, bicubic resize, centre crop), then the ONNX image graph in
  batches, with no overlap: what a tool that decodes the simple way can reach.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ceiling, decode_ceiling, ensure_photos, random_weight_spec, sync_device

from photosearch.core.catalog import Catalog
from photosearch.core.cpu import decode_threads
from photosearch.core.index.store import IndexStore
from photosearch.core.models.embedder import Embedder
from photosearch.core.models.registry import ModelSpec
from photosearch.core.pipeline import Indexer
from photosearch.core.scan import sync_library
from photosearch.core.thumbnails import ThumbnailStore


def rclip_like(files: list[Path], embedder: Embedder, batch: int) -> float:
    """Photos/s of the simple way: full-size decode in one thread, then batched inference, in turn."""
    from PIL import Image, ImageOps

    size = embedder.image_size
    started = time.perf_counter()
    for first in range(0, len(files), batch):
        pixels = []
        for path in files[first : first + batch]:
            with Image.open(path) as image:
                picture = ImageOps.exif_transpose(image.convert("RGB"))
                scale = size / min(picture.size)
                wide, high = max(size, round(picture.width * scale)), max(size, round(picture.height * scale))
                picture = picture.resize((wide, high), Image.Resampling.BICUBIC)
                left, top = (picture.width - size) // 2, (picture.height - size) // 2
                pixels.append(np.asarray(picture.crop((left, top, left + size, top + size))))
        embedder.encode_images(np.stack(pixels))
    return len(files) / (time.perf_counter() - started)


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
        sync_device(embedder)
        seconds = time.perf_counter() - started
        catalog.close()
    return report.indexed / seconds, report.indexed


def measure_backend(
    spec: ModelSpec, backend: str, args: argparse.Namespace, photos: Path, count: int
) -> tuple[Embedder, dict[str, object]]:
    started = time.perf_counter()
    embedder = Embedder(spec, device=args.device, threads=args.threads, random_weights=True, backend=backend)
    loaded = time.perf_counter() - started
    workers = args.workers
    first, first_cs = ceiling(embedder, count, args.batch_size)
    rate, indexed = pipeline(embedder, photos, args.batch_size, workers)
    bare = pipeline(embedder, photos, args.batch_size, workers, thumbnails=False)[0] if args.thumbnail_cost else None
    second, second_cs = ceiling(embedder, count, args.batch_size)
    result: dict[str, object] = {
        "backend": embedder.backend,
        "note": embedder.note,
        "load_s": round(loaded, 2),
        "pipeline_photos_per_s": round(rate, 2),
        "photos": indexed,
        "model_alone_images_per_s": round((first + second) / 2, 2),
        "model_alone_before_after": [round(first, 2), round(second, 2)],
        "inference_core_s_per_image": round((first_cs + second_cs) / 2, 4),
        "ratio_to_model_alone": round(rate / ((first + second) / 2), 3),
    }
    if bare is not None:  # the same pipeline without writing thumbnails: what the grid's thumbnails cost
        result["without_thumbnails_photos_per_s"] = round(bare, 2)
        result["thumbnail_cost"] = round(1 - rate / bare, 3)
    return embedder, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ViT-B-32-256", help="open_clip architecture (random weights)")
    parser.add_argument("--photos", default=str(Path(tempfile.gettempdir()) / "photosearch-bench-photos"))
    parser.add_argument("--count", type=int, default=96, help="photos to generate when --photos is empty")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="inference threads (every measurement)")
    parser.add_argument("--workers", type=int, default=None, help="decode threads (default: the pipeline's, one per core)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backends", default=None, help="comma-separated (default: torch,onnx on a CPU; torch on a GPU)")
    parser.add_argument("--baseline", action="store_true", help="also the rclip-like indexer (full-size decode, then ONNX)")
    parser.add_argument("--thumbnail-cost", action="store_true", help="also the pipeline without thumbnails")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    photos = Path(args.photos)
    files = ensure_photos(photos, args.count)
    spec = random_weight_spec(args.model)
    backends = (args.backends or ("torch,onnx" if args.device == "cpu" else "torch")).split(",")
    cores = os.cpu_count() or 2
    measured: list[dict[str, object]] = []
    embedders: dict[str, Embedder] = {}
    for backend in backends:
        embedder, result = measure_backend(spec, backend, args, photos, len(files))
        embedders[backend] = embedder
        measured.append(result)
    some = next(iter(embedders.values()))
    decode_workers = args.workers or decode_threads()  # what the Indexer used
    decoding, decode_cs = decode_ceiling(files, some.image_size, decode_workers)
    for result in measured:
        if some.device == "cpu":  # decoding and inference share the cores: the most both can do together
            limit = cores / (decode_cs + float(result["inference_core_s_per_image"]))  # type: ignore[arg-type]
            result["combined_limit_photos_per_s"] = round(limit, 2)
            result["ratio_to_combined_limit"] = round(float(result["pipeline_photos_per_s"]) / limit, 3)  # type: ignore[arg-type]
        else:  # on a GPU the decoder is the limit
            result["ratio_to_decode_alone"] = round(float(result["pipeline_photos_per_s"]) / decoding, 3)  # type: ignore[arg-type]
    report: dict[str, object] = {
        "model": args.model,
        "device": some.device,
        "cores": cores,
        "photos": len(files),
        "batch_size": args.batch_size,
        "threads": args.threads,
        "decode_workers": decode_workers,
        "decode_alone_photos_per_s": round(decoding, 2),
        "decode_core_s_per_photo": round(decode_cs, 4),
        "backends": measured,
    }
    if args.baseline:
        onnx = embedders.get("onnx") or Embedder(spec, device="cpu", threads=args.threads, random_weights=True, backend="onnx")
        baseline = rclip_like(files, onnx, args.batch_size)
        report["rclip_like_photos_per_s"] = round(baseline, 2)
        for result in measured:
            result["times_rclip_like"] = round(float(result["pipeline_photos_per_s"]) / baseline, 2)  # type: ignore[arg-type]
    if args.json:
        print(json.dumps(report))
    else:
        for result in measured:
            print(
                f"{result['backend']}: pipeline {result['pipeline_photos_per_s']} photos/s, model alone "
                f"{result['model_alone_images_per_s']} images/s, of the combined limit {result.get('ratio_to_combined_limit')}"
            )


if __name__ == "__main__":
    main()
