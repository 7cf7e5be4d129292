"""`photosearch demo`: a sample library a newcomer can search offline, in under a minute.

It writes a few hundred generated photos (JPEG with EXIF at 1–12 MP, some PNG and HEIC, some
stored sideways with an EXIF orientation) into a visible folder, indexes them with the bundled
tiny model, and runs example searches. The photos only show what the tiny model knows:
six colours, three shapes and two-colour layouts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from photosearch.core.models.registry import TINY_MODEL_NAME

from . import synthetic

DEMO_MODEL = TINY_MODEL_NAME  # bundled: the demo works offline
DEMO_QUERIES = ("a red circle", "blue square", "yellow triangle", "red above blue", "green left of white")
_SIZES = ((1280, 960), (1600, 1200), (2048, 1536), (1200, 1600), (1920, 1080), (1536, 2048))


@dataclass(frozen=True)
class DemoPhoto:
    path: Path
    key: str  # the label the photo displays (after EXIF orientation)


DEMO_START = datetime(2024, 6, 1, 9, 0)  # each sample photo has a capture time of its own, hours apart


def generate_library(folder: Path, count: int = 240, seed: int = 7, big_every: int = 40, heic: int = 3) -> list[DemoPhoto]:
    """Write `count` sample photos into `folder` (idempotent: existing files are kept)."""
    rng = random.Random(seed)
    labels = synthetic.all_labels()
    photos: list[DemoPhoto] = []
    for i in range(count):
        label = labels[i % len(labels)]
        size = (4032, 3024) if big_every and i % big_every == 0 else rng.choice(_SIZES)
        orientation = rng.choice((1, 1, 1, 1, 3, 6, 8))
        suffix = ".heic" if i < heic else (".png" if i % 17 == 5 else ".jpg")
        if suffix == ".heic":
            size, orientation = (640, 480), 1  # HEIC encoding is slow; a few small ones prove support
        if suffix == ".png":
            orientation = 1
        slug = label.key.replace(" ", "-")
        path = folder / f"{i // 60:02d}" / f"IMG_{i:04d}_{slug}{suffix}"
        taken = (DEMO_START + timedelta(hours=7 * i, minutes=13 * (i % 5))).strftime("%Y:%m:%d %H:%M:%S")  # a summer of photos
        if not path.exists():
            synthetic.write_photo(path, label, size, rng, orientation=orientation, taken=taken)
        photos.append(DemoPhoto(path, label.key))
    return photos
