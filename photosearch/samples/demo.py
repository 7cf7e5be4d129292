"""`photosearch demo`: a sample library a newcomer can search offline, in under a minute.

It writes a few hundred generated photos (JPEG with EXIF at 1–12 MP, some PNG and HEIC, some
stored sideways with an EXIF orientation), a few camera RAW files (one beside its JPEG), two
videos and a Live Photo into a visible folder, indexes them with the bundled tiny model, and
runs example searches. The photos only show what the tiny model knows:
six colours, three shapes and two-colour layouts.
"""

from __future__ import annotations

import random
import shutil
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
DEMO_HEIC = Path(__file__).resolve().parents[1] / "resources" / "demo"  # the HEICs, made once
DEMO_HEIC_SIZE = (640, 480)  # a few small ones prove support
DEMO_HEIC_COUNT = 3


def generate_library(
    folder: Path, count: int = 240, seed: int = 7, big_every: int = 40, heic: int = DEMO_HEIC_COUNT, media: bool = True
) -> list[DemoPhoto]:
    """Write `count` sample photos into `folder` (idempotent: existing files are kept), and with
    `media` the RAW files, videos and Live Photo. The first `heic` are HEICs made beforehand
    (the installed app has no HEVC encoder)."""
    rng = random.Random(seed)
    photos: list[DemoPhoto] = []
    for i in range(count):
        label = _label(i)
        size = (4032, 3024) if big_every and i % big_every == 0 else rng.choice(_SIZES)
        orientation = rng.choice((1, 1, 1, 1, 3, 6, 8))
        if i < heic:
            path = folder / f"{i // 60:02d}" / demo_heic_name(i)
            if not path.exists():
                _copy_demo_heic(i, path)
            photos.append(DemoPhoto(path, label.key))
            continue
        suffix = ".png" if i % 17 == 5 else ".jpg"
        if suffix == ".png":
            orientation = 1
        slug = label.key.replace(" ", "-")
        path = folder / f"{i // 60:02d}" / f"IMG_{i:04d}_{slug}{suffix}"
        if not path.exists():
            synthetic.write_photo(path, label, size, rng, orientation=orientation, taken=demo_taken(i))
        photos.append(DemoPhoto(path, label.key))
    return photos + (_raw_and_video(folder, rng) if media else [])


def demo_taken(i: int) -> str:
    """The capture time of the demo's photo number `i`: a summer of photos."""
    return (DEMO_START + timedelta(hours=7 * i, minutes=13 * (i % 5))).strftime("%Y:%m:%d %H:%M:%S")


def _label(i: int) -> synthetic.Label:
    labels = synthetic.all_labels()
    return labels[i % len(labels)]


def demo_heic_name(i: int) -> str:
    return f"IMG_{i:04d}_{_label(i).key.replace(' ', '-')}.heic"


def write_demo_heic(i: int, path: Path) -> Path:
    """The demo's HEIC number `i`, encoded (needs pillow-heif's encoder: `tools/make_demo_heic.py`)."""
    return synthetic.write_photo(path, _label(i), DEMO_HEIC_SIZE, random.Random(i), taken=demo_taken(i))


def _copy_demo_heic(i: int, path: Path) -> None:
    made = DEMO_HEIC / demo_heic_name(i)
    if made.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(made, path)
    else:  # more HEICs asked for than were made beforehand
        write_demo_heic(i, path)


def _raw_and_video(folder: Path, rng: random.Random) -> list[DemoPhoto]:
    """RAW files (one with no preview, one turned, one beside its JPEG), videos whose scenes
    change, and a Live Photo: every kind of item a library takes."""
    from .raw_files import write_dng
    from .videos import write_video

    layouts = {label.key: label for label in synthetic.layout_labels()}
    shapes = {label.key: label for label in synthetic.shape_labels()}
    made: list[DemoPhoto] = []
    raws = (("red above blue", 1, 1024), ("green left of white", 6, 1024), ("yellow circle", 1, None), ("blue square", 8, 1024))
    for index, (key, orientation, preview) in enumerate(raws):
        path = folder / "raw" / f"DSC_{index + 1:04d}.dng"
        label = layouts.get(key) or shapes[key]
        if not path.exists():
            write_dng(path, synthetic.render(label, (1200, 900), rng), orientation=orientation, preview=preview)
        made.append(DemoPhoto(path, key))
    developed = folder / "raw" / "DSC_0005.jpg"
    if not developed.exists():
        synthetic.write_photo(developed, shapes["white triangle"], (1200, 900), rng)
        write_dng(developed.with_suffix(".dng"), synthetic.render(shapes["white triangle"], (1200, 900), rng))
    made.append(DemoPhoto(developed, "white triangle"))
    clips = (
        ("beach.mp4", [("yellow left of green", 3.0), ("red above blue", 4.0), ("red circle", 3.0)]),
        ("garden.mov", [("green square", 2.0), ("blue above white", 3.0)]),
    )
    for name, scenes in clips:
        path = folder / "videos" / name
        if not path.exists():
            write_video(path, [(layouts.get(key) or shapes[key], seconds) for key, seconds in scenes], rng=rng)
        made.append(DemoPhoto(path, scenes[0][0]))
    live = folder / "videos" / "IMG_0900.jpg"
    if not live.exists():
        synthetic.write_photo(live, shapes["black circle"], (1200, 900), rng)
        write_video(live.with_suffix(".mov"), [(shapes["black circle"], 1.5), (shapes["yellow square"], 1.5)], rng=rng)
    made.append(DemoPhoto(live, "black circle"))
    return made
