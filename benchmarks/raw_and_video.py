"""RAW files and videos beside photos, in one run: what each costs to index.

    python benchmarks/raw_and_video.py --json [--model ViT-B-32-256] [--raws 8] [--video-minutes 60]

- RAW (core/raw.py): DNGs shaped like a 24 MP camera's (6000×4000 sensor data, a 1620×1080
  JPEG preview, as many cameras embed) decoded through the preview, and the same pictures
  with no preview (LibRaw's half-size development): ms per file, thumbnail included; a 12 MP
  camera-like JPEG through `load_for_model` beside them, for scale.
- Video (core/video.py): one video of --video-minutes at 1280×720 with a keyframe every
  2 seconds (encoded at 2 frames/s: keyframes cost what they cost at any frame rate, and only
  keyframes are decoded), indexed by the real pipeline with the model: the seconds it took,
  frames indexed per second; 12 MP JPEGs through the same pipeline, photos/s, for scale.

The model has random weights (speed does not depend on them). Every figure comes from this
one run on this machine; name the CPU beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from common import cpu_name, ensure_photos, random_weight_spec

from photosearch.core.catalog import Catalog
from photosearch.core.images import load_for_model
from photosearch.core.index.store import IndexStore
from photosearch.core.models.embedder import Embedder
from photosearch.core.pipeline import Indexer
from photosearch.core.raw import load_raw
from photosearch.core.scan import sync_library
from photosearch.core.thumbnails import THUMBNAIL_SIZE, ThumbnailStore
from photosearch.samples import synthetic
from photosearch.samples.raw_files import write_dng
from photosearch.samples.videos import write_video


def _camera_raws(folder: Path, count: int, preview: int | None) -> list[Path]:
    rng = random.Random(4)
    labels = synthetic.all_labels()
    paths = []
    for index in range(count):
        path = folder / f"DSC_{index:04d}.dng"
        if not path.exists():
            picture = synthetic.add_grain(synthetic.render(labels[index % len(labels)], (6000, 4000), rng), 5.0, rng)
            write_dng(path, picture, orientation=rng.choice((1, 6, 8)), preview=preview)
        paths.append(path)
    return paths


def _ms_per_file(decode: object, files: list[Path], size: int) -> float:
    times = []
    for path in files:
        started = time.perf_counter()
        decode(path, size, thumbnail=THUMBNAIL_SIZE)  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _index(embedder: Embedder, folder: Path) -> tuple[float, int, int]:
    """(seconds, items indexed, vectors) of the real pipeline over `folder`."""
    with tempfile.TemporaryDirectory() as scratch:
        catalog = Catalog(Path(scratch) / "catalog.sqlite3")
        catalog.add_folder(str(folder.resolve()))
        store = IndexStore(catalog, Path(scratch) / "index", embedder.spec.name, embedder.dim)
        started = time.perf_counter()
        sync_library(catalog)
        report = Indexer(
            catalog, store, embedder, embedder.spec.name, thumbnails=ThumbnailStore(Path(scratch) / "thumbnails")
        ).run()
        seconds = time.perf_counter() - started
        vectors = catalog.embedding_count(embedder.spec.name)
        catalog.close()
    return seconds, report.indexed, vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ViT-B-32-256", help="open_clip architecture (random weights)")
    parser.add_argument("--raws", type=int, default=8)
    parser.add_argument("--photos", type=int, default=48, help="12 MP JPEGs for the photo figures")
    parser.add_argument("--video-minutes", type=float, default=60.0)
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "photosearch-bench-media"))
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(args.work)
    embedder = Embedder(random_weight_spec(args.model), device="cpu", threads=args.threads, random_weights=True)
    size = embedder.image_size

    with_preview = _camera_raws(work / "raw-preview", args.raws, 1620)
    without = _camera_raws(work / "raw-sensor", args.raws, None)
    jpegs = ensure_photos(work / "photos", args.photos)
    raw = {
        "preview_ms_per_file": round(_ms_per_file(load_raw, with_preview, size), 1),
        "half_size_ms_per_file": round(_ms_per_file(load_raw, without, size), 1),
        "jpeg_12mp_ms_per_file": round(_ms_per_file(load_for_model, jpegs[: args.raws], size), 1),
        "files": args.raws,
        "sensor": "6000x4000",
    }
    raw["half_size_over_preview"] = round(raw["half_size_ms_per_file"] / raw["preview_ms_per_file"], 1)  # type: ignore[operator]

    video_folder = work / f"video-{args.video_minutes:g}min"
    video = video_folder / "long.mp4"
    if not video.exists():
        labels = synthetic.all_labels()
        rng = random.Random(9)
        scenes = [(labels[i % len(labels)], 20.0) for i in range(round(args.video_minutes * 3))]
        print(f"encoding a {args.video_minutes:g}-minute 720p video …", flush=True)
        write_video(video, scenes, size=(1280, 720), fps=2, rng=rng, keyframe_seconds=2.0)
    video_s, _, frames = _index(embedder, video_folder)
    photos_s, photos, _ = _index(embedder, work / "photos")
    report = {
        "cpu": cpu_name(),
        "model": args.model,
        "threads": args.threads,
        "raw": raw,
        "video": {
            "minutes": args.video_minutes,
            "index_s": round(video_s, 2),
            "frames": frames,
            "frames_per_s": round(frames / video_s, 2),
            "bytes": video.stat().st_size,
        },
        "photos": {"count": photos, "photos_per_s": round(photos / photos_s, 2)},
    }
    print(json.dumps(report, indent=1) if args.json else report)


if __name__ == "__main__":
    main()
