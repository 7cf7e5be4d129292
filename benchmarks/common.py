"""What several benchmarks share: generated camera-like photos, a random-weight model, the
model's and the decoder's ceilings, CLIP-like vectors, process memory, a large ready library.

Each benchmark is a script run from the project's environment (`python benchmarks/NAME.py`):
its own folder is first on `sys.path`, so `from common import …` needs no path edits, and
photosearch comes from the environment it is installed in.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from photosearch.core.catalog import Catalog, Embedded
from photosearch.core.cpu import DECODE_NICE, make_current_thread_background
from photosearch.core.fingerprint import fingerprint
from photosearch.core.images import is_photo_path, load_for_model
from photosearch.core.library import Library
from photosearch.core.models.embedder import Embedder
from photosearch.core.models.registry import BUILTIN_MODELS, ModelSpec, get_model
from photosearch.core.scan import sync_library
from photosearch.core.thumbnails import THUMBNAIL_SIZE, ThumbnailStore
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


def decode_ceiling(files: list[Path], size: int, workers: int) -> tuple[float, float]:
    """(photos/s, core-seconds per photo) of decoding alone, thumbnail included, on `workers` threads."""
    with tempfile.TemporaryDirectory() as scratch:
        thumbnails = ThumbnailStore(Path(scratch))

        def decode(numbered: tuple[int, Path]) -> None:
            _, info = load_for_model(numbered[1], size, thumbnail=THUMBNAIL_SIZE)
            if info.thumbnail is not None:
                thumbnails.write(numbered[0], info.thumbnail)

        started, cpu = time.perf_counter(), time.process_time()
        lowered = lambda: make_current_thread_background(DECODE_NICE)  # noqa: E731 - as the Indexer runs them
        with ThreadPoolExecutor(max_workers=workers, initializer=lowered) as pool:
            for _ in pool.map(decode, enumerate(files), chunksize=8):
                pass
        return len(files) / (time.perf_counter() - started), (time.process_time() - cpu) / len(files)


def random_weight_spec(arch: str) -> ModelSpec:
    """The model to measure: a built-in one by its architecture, or any open_clip architecture."""
    known = next((s for s in BUILTIN_MODELS.values() if s.arch == arch), None)
    return known or ModelSpec(name=arch, arch=arch, dim=0, image_size=0, licence="", summary="")


def sync_device(embedder: Embedder) -> None:
    """Wait for a GPU's queued work, so a timing covers it."""
    if embedder.device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def ceiling(embedder: Embedder, count: int, batch: int) -> tuple[float, float]:
    """(images/s, core-seconds per image) of the model alone on ready uint8 batches."""
    pixels = np.random.default_rng(0).integers(0, 255, (batch, embedder.image_size, embedder.image_size, 3), dtype=np.uint8)
    embedder.encode_images(pixels)  # warm-up
    done = 0
    started, cpu = time.perf_counter(), time.process_time()
    while done < count:
        embedder.encode_images(pixels[: min(batch, count - done)])
        done += min(batch, count - done)
    sync_device(embedder)
    return count / (time.perf_counter() - started), (time.process_time() - cpu) / count


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        import platform

        return platform.processor() or "unknown"


def clip_like(n: int, dim: int, rng: np.random.Generator, centres: np.ndarray, weights: np.ndarray) -> np.ndarray:
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        which = rng.choice(len(centres), size=m, p=weights)
        x = centres[which] + rng.standard_normal((m, dim)).astype(np.float32) * np.float32(0.045)
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def rss_mb(pid: int | None, field: str = "VmRSS:") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return 0.0


def build_library(root: Path, size: int, model: str) -> Path:
    """A library of `size` indexed photos, built through the catalog's API (no model needed),
    once per `root`; every run gets a fresh copy of it, so runs are alike."""
    pristine = root / "pristine"
    if not (pristine / "catalog.sqlite3").is_file():
        _build(root, pristine, size, model)
    home = root / "home"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(pristine, home)
    return home


def _build(root: Path, home: Path, size: int, model: str) -> None:
    bulk = root / "library-photos"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(bulk, ignore_errors=True)
    seed = ensure_photos(root / "seed", 1)[0]
    print(f"linking {size} photos …", file=sys.stderr)
    source = seed
    for i in range(size):
        target = bulk / f"{i // 1000:03d}" / f"IMG_{i:06d}.jpg"
        if i % 1000 == 0:
            target.parent.mkdir(parents=True, exist_ok=True)
        if i and i % 50_000 == 0:  # filesystems cap the links per file (ext4: 65,000)
            source = root / "seed" / f"copy-{i}.jpg"
            shutil.copy2(seed, source)
        os.link(source, target)
    spec = get_model(model, home)
    catalog = Catalog(home / "catalog.sqlite3")
    catalog.add_folder(str(bulk))
    sync_library(catalog)
    print("committing vectors …", file=sys.stderr)
    rng = np.random.default_rng(0)
    print_ = fingerprint(seed)
    while chunk := catalog.pending(0, 5000):
        vectors = rng.standard_normal((len(chunk), spec.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        # marked as having thumbnails: else the worker's idle time would go to making 100k of them first
        embedded = [Embedded(ph, vectors[i], print_, 4032, 3024, None, thumbnail=True) for i, ph in enumerate(chunk)]
        catalog.commit_results(spec.name, embedded, [])
    catalog.set_meta("model", spec.name)
    catalog.close()
    print("building the index snapshot …", file=sys.stderr)
    started = time.perf_counter()
    with Library(home, model=spec.name, threads=os.cpu_count()) as library:
        library.claim_writer()
        library.store.save()
    print(f"index built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
