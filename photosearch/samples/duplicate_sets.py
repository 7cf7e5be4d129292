"""Files that are duplicates of known kinds, for the duplicate tests and benchmarks (one
generator for both, so they never drift): the same photo in many forms, bursts of one scene,
and look-alikes that must stay apart.

Every file carries EXIF capture times like a camera's; a form of the same photo keeps its
original's time (editors and converters keep DateTimeOriginal), a burst's shots are seconds
apart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageEnhance

from .heic import can_write_heic, save_heic
from .scenes import Scene, Shot
from .synthetic import stored_pixels

SIZE = (1200, 900)
Transform = Callable[[Image.Image], Image.Image]


def _crop(image: Image.Image, share: float) -> Image.Image:
    w, h = image.size
    return image.crop((int(w * share), int(h * share * 0.8), int(w * (1 - share)), int(h * (1 - share * 0.8))))


# the same photo, changed the ways copies and edits change it (name → what is done to the pixels)
SAME_FORMS: dict[str, Transform] = {
    "resized": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
    "recompressed": lambda im: im,  # saved again at a low quality, below
    "cropped": lambda im: _crop(im, 0.04),
    "brighter": lambda im: ImageEnhance.Brightness(im).enhance(1.2),
    "more-colourful": lambda im: ImageEnhance.Color(im).enhance(1.4),
    "less-contrast": lambda im: ImageEnhance.Contrast(im).enhance(0.8),
}
FORMATS = {"png": "PNG", "webp": "WEBP", "heic": "HEIF"}  # another format, the same pixels


def exif_bytes(taken: datetime, orientation: int = 1) -> bytes:
    exif = Image.Exif()
    stamp = taken.strftime("%Y:%m:%d %H:%M:%S")
    exif[0x010F], exif[0x0110], exif[0x0132] = "photosearch", "duplicate sets", stamp
    exif.get_ifd(0x8769)[0x9003] = stamp
    if orientation != 1:
        exif[0x0112] = orientation
    return exif.tobytes()


def save(image: Image.Image, path: Path, taken: datetime, quality: int = 92, orientation: int = 1) -> Path:
    """Write `image` (as it should display) to `path`, its format from the suffix; with
    `orientation`, the pixels are stored turned and the EXIF tag turns them back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", **{f".{k}": v for k, v in FORMATS.items()}}[path.suffix.lower()]
    pixels = stored_pixels(image, orientation)
    exif = exif_bytes(taken, orientation)
    if fmt == "HEIF":
        return save_heic(pixels, path, quality, exif)
    options: dict[str, object] = {"exif": exif}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    pixels.save(path, fmt, **options)
    return path


def write_forms(scene: Scene, folder: Path, stem: str, taken: datetime) -> dict[str, Path]:
    """The original and each form of the same photo (`SAME_FORMS`, other formats, an EXIF-
    rotated copy), all with the original's capture time; "original" and "copy" are the same bytes."""
    image = scene.render(SIZE)
    original = save(image, folder / f"{stem}.jpg", taken)
    files = {"original": original}
    copy = folder / "copies" / f"{stem}.jpg"
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(original.read_bytes())
    files["copy"] = copy
    for name, change in SAME_FORMS.items():
        files[name] = save(change(image), folder / f"{stem}-{name}.jpg", taken, quality=45 if name == "recompressed" else 88)
    for suffix in FORMATS:
        if suffix != "heic" or can_write_heic():
            files[suffix] = save(image, folder / f"{stem}.{suffix}", taken, quality=85)
    files["rotated"] = save(image, folder / f"{stem}-rotated.jpg", taken, orientation=6)
    return files


def write_burst(scene: Scene, folder: Path, stem: str, taken: datetime, shots: int = 4, seconds: float = 1.0) -> list[Path]:
    """`shots` photos of one moment, `seconds` apart: the camera and the subject move a little."""
    return [
        save(
            scene.render(SIZE, Shot(camera=(0.006 * i, 0.003 * i), subject=(0.02 * i, -0.01 * i), grain_seed=1000 + i)),
            folder / f"{stem}-{i + 1}.jpg",
            taken + timedelta(seconds=seconds * i),
        )
        for i in range(shots)
    ]
