"""Safe, fast photo decoding: any file in, a model-ready RGB picture or a human reason out.

Why this module is careful:
- JPEGs are decoded at reduced size (DCT scaling via `Image.draft`), so a 12 MP photo costs
  about what a thumbnail costs; the pipeline is otherwise decoder-bound.
- EXIF orientation is applied, or sideways photos are embedded sideways.
- The pixel limit is deliberate: a real 200 MP photo must still index, while a 44-byte file
  declaring gigapixels is refused before anything is allocated.
- Every failure, whatever the exception type, becomes a `DecodeError` with a reason a user
  can read; nothing escapes to crash the indexer.
- Only photo decoders ever see a file: Pillow would otherwise try every format it knows, and
  some (EPS) are decoded by running another program (Ghostscript) on the file.
"""

from __future__ import annotations

import threading
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .memory_budget import MemoryBudget
from .thumbnails import encode_thumbnail

# Real phone/camera photos reach ~200 MP; refuse only what no camera makes.
MAX_PIXELS = 250_000_000
# A pixel count that is refused before decoding even for formats that can't be scaled down.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

PHOTO_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic", ".heif", ".hif", ".avif"}
)

# The decoders a file may reach, whatever its name says: those of these that this Pillow has
# (HEIF: pillow-heif's, which reads AVIF too; AVIF: Pillow's own, where it is built with it).
# JPEG's opener also opens MPO, the JPEG with a second picture that many cameras write.
PHOTO_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF", "HEIF", "AVIF")
_JPEG_FAMILY = ("JPEG", "MPO")  # decoded at a reduced DCT scale

_decoders: tuple[str, ...] = ()  # empty until the first decode settles them
_decoders_lock = threading.Lock()


def _photo_decoders() -> tuple[str, ...]:
    """The photo formats this Pillow opens, HEIC/HEIF/AVIF taught to it on first use
    (pillow-heif is optional at import time). Decode threads start together: one settles them."""
    global _decoders
    if _decoders:
        return _decoders
    with _decoders_lock:
        if not _decoders:
            _add_heif_openers()
            Image.init()
            _decoders = tuple(name for name in PHOTO_FORMATS if name in Image.OPEN)
    return _decoders


def _add_heif_openers() -> None:
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        if hasattr(pillow_heif, "register_avif_opener"):
            try:
                pillow_heif.register_avif_opener()
            except Exception:  # newer Pillow decodes AVIF itself
                pass
    except ImportError:
        pass


class DecodeError(Exception):
    """A photo that cannot be indexed; `str(error)` is the reason shown to the user.

    `retry`: the cause lies outside the file (a permission, an I/O error, memory), so the next
    scan tries again; otherwise only a change to the file does."""

    def __init__(self, reason: str, retry: bool = False) -> None:
        super().__init__(reason)
        self.retry = retry


@dataclass(frozen=True)
class PhotoInfo:
    """What decoding learnt about a photo besides its pixels."""

    width: int  # as displayed, after EXIF orientation
    height: int
    taken: str | None  # EXIF DateTimeOriginal as "YYYY-MM-DD HH:MM:SS", when present
    thumbnail: bytes | None = None  # an upright JPEG thumbnail, when asked for


def is_photo_path(path: Path) -> bool:
    return path.suffix.lower() in PHOTO_SUFFIXES


def _exif_taken(image: Image.Image) -> str | None:
    try:
        exif = image.getexif()
        raw = exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132)  # DateTimeOriginal, DateTime
    except Exception:
        return None
    if not isinstance(raw, str) or len(raw) < 19:
        return None
    text = raw.strip("\x00 ")[:19]
    if len(text) < 19 or text[4] != ":" or text[7] != ":":
        return None
    try:  # a camera whose clock was never set writes zeros: no date (the file's time counts)
        datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]), int(text[17:19]))
    except ValueError:
        return None
    return f"{text[0:4]}-{text[5:7]}-{text[8:10]}{text[10:19]}"


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
        return int(value) if isinstance(value, int) and 1 <= value <= 8 else 1
    except Exception:
        return 1


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    """One rule for every mode: transparency is composited onto white, 16-bit is scaled to 8-bit."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit data often fills only 10-12 bits (sensor and scanner output): scale by the
        # range actually used, so a dark 12-bit scan doesn't become black (or, naively, white).
        arr = np.asarray(image, dtype=np.float32)
        peak = float(arr.max(initial=0))
        top = 65535.0 if peak > 4095 else max(peak, 255.0)
        return Image.fromarray(np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8), "L").convert("RGB")
    if mode == "F":
        arr = np.asarray(image, dtype=np.float32)
        peak = float(arr.max(initial=1.0)) or 1.0
        return Image.fromarray(np.clip(arr * (255.0 / peak), 0, 255).astype(np.uint8), "L").convert("RGB")
    if mode == "P":
        image = image.convert("RGBA") if "transparency" in image.info else image.convert("RGB")
    elif mode in ("LA", "La", "PA", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        canvas = Image.new("RGB", image.size, (255, 255, 255))
        canvas.paste(image, mask=image.getchannel("A"))
        return canvas
    return image.convert("RGB")  # L, 1, CMYK (Pillow inverts Adobe CMYK correctly), YCbCr, LAB, HSV


def centre_crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The largest central square: what CLIP's resize-then-centre-crop keeps."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return (left, top, left + side, top + side)


def fit_square(image: Image.Image, size: int) -> Image.Image:
    """Resize the shortest side to `size` and centre-crop, in one resampling pass (bicubic)."""
    box = centre_crop_box(*image.size)
    return image.resize((size, size), Image.Resampling.BICUBIC, box=box, reducing_gap=3.0)


def read_error_reason(exc: OSError) -> str:
    """A human reason for a file that could not be opened or read."""
    if isinstance(exc, FileNotFoundError):
        return "file disappeared before it could be read"
    if isinstance(exc, PermissionError):
        return "no permission to read the file"
    return f"could not read file ({exc.strerror or exc})"


def load_for_model(
    source: Path | str | BinaryIO, size: int, budget: MemoryBudget | None = None, thumbnail: int = 0
) -> tuple[np.ndarray, PhotoInfo]:
    """Decode a photo (a path, or a binary file open at its start) to a (size, size, 3) uint8
    array, upright, as the model should see it. With a `budget`, the pixels are only decoded
    once it holds what they will need (known from the header, before anything is allocated).
    With `thumbnail` (pixels on the long side), the same decode also yields a thumbnail JPEG.

    Raises DecodeError with a human reason for anything that can't be indexed.
    """
    try:
        return _load(Path(source) if isinstance(source, str | Path) else source, size, budget, thumbnail)
    except DecodeError:
        raise
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"image is too large to index safely ({exc})") from None
    except UnidentifiedImageError:
        raise DecodeError("not a recognised image format") from None
    except MemoryError:
        raise DecodeError("not enough memory to decode this image", retry=True) from None
    except OSError as exc:
        if exc.errno is not None:  # the system failed to read it (Pillow's decoding errors carry no errno)
            raise DecodeError(read_error_reason(exc), retry=True) from None
        message = str(exc) or type(exc).__name__
        if "truncated" in message:
            raise DecodeError("file is truncated or incomplete") from None
        raise DecodeError(f"could not decode image: {message}") from None
    except Exception as exc:  # hostile files raise anything: ValueError, SyntaxError, struct.error…
        raise DecodeError(f"could not decode image ({type(exc).__name__}: {exc})") from None


def decode_cost(width: int, height: int, mode: str) -> int:
    """Bytes a decode of this picture may hold at its peak: the decoded pixels and one converted copy."""
    per_pixel = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "I;16": 2, "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3}.get(mode, 4)
    return width * height * (per_pixel + 3)


def _load(path: Path | BinaryIO, size: int, budget: MemoryBudget | None, thumbnail: int = 0) -> tuple[np.ndarray, PhotoInfo]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path, formats=_photo_decoders()) as image:
            width, height = image.size
            if width <= 0 or height <= 0:
                raise DecodeError(f"image has no pixels ({width}×{height})")
            if width * height > MAX_PIXELS:
                raise DecodeError(f"image is too large to index safely ({width}×{height} pixels)")
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)
            if image.format in _JPEG_FAMILY and image.mode in ("RGB", "L", "CMYK", "YCbCr"):
                # DCT scaling: decode at the smallest 1/2^n scale still >= size on both sides.
                # a thumbnail wants its short side at 3/4 of its long one (a 4:3 photo, full size)
                least = max(size, thumbnail * 3 // 4)
                image.draft(image.mode, (least, least))
            # after draft(), image.size is what will really be decoded; reading EXIF may decode
            # too (a PNG's eXIf chunk can follow its pixels), so it happens inside the budget
            with budget.reserve(decode_cost(*image.size, image.mode)) if budget else nullcontext():
                try:
                    orientation = _orientation(image)
                    taken = _exif_taken(image)
                    image.load()  # a truncated file raises (Pillow's LOAD_TRUNCATED_IMAGES stays off)
                    upright: Image.Image = ImageOps.exif_transpose(image) if orientation != 1 else image
                    rgb = _flatten_to_rgb(upright)
                    array = np.asarray(fit_square(rgb, size), dtype=np.uint8)
                    small = encode_thumbnail(rgb, thumbnail) if thumbnail else None
                    for picture in {id(p): p for p in (rgb, upright)}.values():
                        picture.close()
                finally:
                    image.close()  # the decoded pixels go back before the budget does
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return array, PhotoInfo(width=width, height=height, taken=taken, thumbnail=small)
