"""Where a photo's decode goes, stage by stage, in one run (issue 26, item 3).

    python benchmarks/decode_breakdown.py --photos DIR --count 48 --json

For camera-like 12 MP JPEGs (~3 MB, EXIF, some stored rotated; generated into DIR when it is
empty), one thread, each stage timed on its own in CPU seconds per photo, the way
`images.load_for_model` runs them:

1. open: the header, the format check;
2. exif: the orientation and the date taken;
3. entropy decode at the DCT-scaled size (`draft`), the bulk of a JPEG's work, which scaling
   does not shrink: every coefficient is still read from the file;
4. fit: the centre square resized to the model's input, turned upright, as an array;
5. thumbnail: resized and encoded as a JPEG;

and the whole `load_for_model` with its thumbnail, for comparison.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from common import cpu_name, ensure_photos
from PIL import Image

from photosearch.core.images import fit_square, load_for_model
from photosearch.core.thumbnails import THUMBNAIL_SIZE, encode_thumbnail

MODEL_SIZE = 256


def _timed(stage: Callable[[], Any]) -> tuple[float, Any]:
    started = time.thread_time()
    result = stage()
    return time.thread_time() - started, result


def stages(path: Path) -> dict[str, float]:
    times: dict[str, float] = {}
    handle = open(path, "rb")  # noqa: SIM115 - closed below, after every stage
    try:
        times["open"], image = _timed(lambda: Image.open(handle))
        times["exif"], _ = _timed(lambda: (image.getexif().get(0x0112), image.getexif().get_ifd(0x8769).get(0x9003)))
        least = max(MODEL_SIZE, THUMBNAIL_SIZE * 3 // 4)
        image.draft(image.mode, (least, least))
        times["entropy decode (DCT-scaled)"], _ = _timed(image.load)
        times["fit to the model's input"], _ = _timed(lambda: np.asarray(fit_square(image, MODEL_SIZE).convert("RGB")))
        times["thumbnail (resize + encode)"], _ = _timed(lambda: encode_thumbnail(image, THUMBNAIL_SIZE, None))
    finally:
        handle.close()
    times["load_for_model, with thumbnail"], _ = _timed(lambda: load_for_model(path, MODEL_SIZE, thumbnail=THUMBNAIL_SIZE))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=Path("/tmp/photosearch-bench-photos"))
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    photos = ensure_photos(args.photos, args.count)[: args.count]
    stages(photos[0])  # warm-up: libraries loaded, caches filled
    totals: dict[str, list[float]] = {}
    for path in photos:
        for name, seconds in stages(path).items():
            totals.setdefault(name, []).append(seconds)
    report = {
        "cpu": cpu_name(),
        "photos": len(photos),
        "mean_bytes": int(np.mean([p.stat().st_size for p in photos])),
        "core_ms_per_photo": {name: round(1000 * float(np.mean(values)), 2) for name, values in totals.items()},
    }
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
