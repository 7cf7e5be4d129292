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
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from photosearch.records import MEDIA_SUFFIXES, PHOTO_SUFFIXES

from .memory_budget import SHARED_BUDGET, MemoryBudget
from .thumbnails import make_thumbnail

# Real phone/camera photos reach ~200 MP; refuse only what no camera makes.
MAX_PIXELS = 250_000_000
# A pixel count that is refused before decoding even for formats that can't be scaled down.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


# The decoders a file may reach, whatever its name says: those of these that this Pillow has
# (HEIF: libheif's, through pi-heif or pillow-heif; AVIF: Pillow's own, where it is built with it).
# JPEG's opener also opens MPO, the JPEG with a second picture that many cameras write.
PHOTO_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF", "HEIF", "AVIF")
_JPEG_FAMILY = ("JPEG", "MPO")  # decoded at a reduced DCT scale

_decoders: tuple[str, ...] = ()  # empty until the first decode settles them
_decoders_lock = threading.Lock()


def _photo_decoders() -> tuple[str, ...]:
    """The photo formats this Pillow opens, HEIC/HEIF/AVIF taught to it on first use
    (libheif's bindings are optional at import time). Decode threads start together: one settles them."""
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
    """HEIC/HEIF through libheif: pi-heif (decoder only, what the installers ship: no GPL x265
    encoder) where installed, else pillow-heif (the same decoder beside an encoder). Imported
    by name, not by a string, so that the installers' analysis finds the module."""
    try:
        import pi_heif

        heif: Any = pi_heif
    except ImportError:
        try:
            import pillow_heif

            heif = pillow_heif
        except ImportError:
            return
    heif.register_heif_opener()
    if hasattr(heif, "register_avif_opener"):  # older releases: AVIF too, where Pillow lacks it
        try:
            heif.register_avif_opener()
        except Exception:  # newer Pillow decodes AVIF itself
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
    look: int | None = None  # the thumbnail's perceptual hash (core/look.py), with it
    duration: float | None = None  # a video's length in seconds


def is_photo_path(path: Path) -> bool:
    """Whether the file is a photo by its name (not a RAW file or a video)."""
    return path.suffix.lower() in PHOTO_SUFFIXES


def is_media_path(path: Path) -> bool:
    """Whether a library takes the file by its name: a photo, a RAW file or a video."""
    return path.suffix.lower() in MEDIA_SUFFIXES


def _exif_taken(image: Image.Image) -> str | None:
    try:
        return exif_taken(image.getexif())
    except Exception:
        return None


def exif_taken(exif: Image.Exif) -> str | None:
    """EXIF's DateTimeOriginal (else DateTime) as "YYYY-MM-DD HH:MM:SS"; None when absent or unset."""
    try:
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


def _flatten(image: Image.Image) -> Image.Image:
    """One rule for every mode, to RGB or (grey sources) L: transparency is composited onto
    white, 16-bit and float data are scaled to 8-bit. Grey stays grey here: an RGB copy of a
    huge scan would cost four bytes a pixel for nothing (the outputs are small and converted)."""
    mode = image.mode
    if mode in ("RGB", "L"):
        return image
    if mode in _WIDE_GREY:
        return _wide_grey_to_l(image)
    if mode == "P":
        image = image.convert("RGBA") if "transparency" in image.info else image.convert("RGB")
    elif mode in ("LA", "La", "PA", "RGBa"):
        image = image.convert("RGBA")
    elif mode == "1":
        return image.convert("L")
    if image.mode == "RGBA":
        canvas = Image.new("RGB", image.size, (255, 255, 255))
        canvas.paste(image, mask=image.getchannel("A"))
        return canvas
    return image.convert("RGB")  # CMYK (Pillow inverts Adobe CMYK correctly), YCbCr, LAB, HSV


_WIDE_GREY = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
_STRIP_ROWS = 256  # rows scaled at a time: a float copy of a strip, never of the whole picture


def _wide_grey_to_l(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float grey to 8-bit, a strip at a time (the decoded picture and
    its 8-bit copy are all that is ever held whole). 16-bit data often fills only 10-12 bits
    (sensor and scanner output): it is scaled by the range actually used, so a dark 12-bit
    scan doesn't become black (or, naively, white)."""
    high = image.getextrema()[1]  # one band: (low, high) of numbers
    peak = float(high) if isinstance(high, int | float) else 0.0
    wide = 65535.0 if peak > 4095 else max(peak, 255.0)
    top = (peak if peak > 0 else 1.0) if image.mode == "F" else wide
    width, height = image.size
    grey = np.empty((height, width), dtype=np.uint8)
    for y in range(0, height, _STRIP_ROWS):
        strip = image.crop((0, y, width, min(height, y + _STRIP_ROWS)))
        values = np.array(strip, dtype=np.float32)  # a writable copy (F strips would be views)
        strip.close()
        np.multiply(values, 255.0 / top, out=values)
        np.clip(values, 0, 255, out=values)
        grey[y : y + values.shape[0]] = values
    return Image.fromarray(grey)


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
    source: Path | str | BinaryIO,
    size: int,
    budget: MemoryBudget | None = None,
    thumbnail: int = 0,
    time_limit: float | None = None,
    orientation: int | None = None,
) -> tuple[np.ndarray, PhotoInfo]:
    """Decode a photo (a path, or a binary file open at its start) to a (size, size, 3) uint8
    array, upright, as the model should see it. `orientation`: the EXIF orientation to apply
    instead of the file's own (a RAW's preview is turned as the RAW says). Pixels are only decoded once `budget` (the
    process's shared one when None) holds what they will need, known from the header before
    anything is allocated. With `thumbnail` (pixels on the long side), the same decode also
    yields a thumbnail JPEG. A decode that reads for longer than `time_limit` seconds
    (DECODE_SECONDS when None), not counting its wait for the budget, is given up.

    Raises DecodeError with a human reason for anything that can't be indexed.
    """
    limit = DECODE_SECONDS if time_limit is None else time_limit
    try:
        with open(source, "rb") if isinstance(source, str | Path) else nullcontext(source) as handle:
            return _load(_TimedReader(handle, limit), size, budget or SHARED_BUDGET, thumbnail, orientation)
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


# Seconds a decode may spend reading before it is given up: far beyond what a real 200 MP
# photo needs on a slow machine (benchmarks/decode_memory.py), short of "for ever".
DECODE_SECONDS = 60.0


class _TimedReader:
    """The file as Pillow reads it, with a clock: Pillow's decoders pull their input a block at
    a time, so a decode that runs past its time is stopped at its next read. Decoders that read
    through the descriptor themselves (libtiff) or all at once (libheif) are bounded by the
    pixel limit instead."""

    def __init__(self, raw: BinaryIO, seconds: float) -> None:
        self._raw = raw
        self._seconds = seconds
        self.restart()

    def restart(self) -> None:
        self._deadline = time.monotonic() + self._seconds

    def _check(self) -> None:
        if time.monotonic() > self._deadline:
            raise DecodeError(f"decoding took longer than {self._seconds:g} s (a damaged or hostile file?)")

    def read(self, size: int = -1) -> bytes:
        self._check()
        return self._raw.read(size)

    def readline(self, size: int = -1) -> bytes:
        self._check()
        return self._raw.readline(size)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        self._check()
        return self._raw.readinto(buffer)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:  # seek, tell, fileno, name…
        return getattr(self._raw, name)


# What Pillow holds per pixel of each mode (multi-band modes are stored four bytes a pixel).
_STORED_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
# What flattening it to RGB or L allocates besides, per pixel (see _flatten).
_FLATTEN_BYTES = {"RGB": 0, "L": 0, "1": 1, "P": 9, "LA": 9, "La": 9, "PA": 9, "RGBa": 9, "RGBA": 5}


def decode_cost(width: int, height: int, mode: str) -> int:
    """Bytes a decode of this picture holds at its peak: the decoded pixels and what flattening
    them allocates (a sideways photo is turned upright once small, at no cost here). Big
    pictures are measured against this by tests/test_images.py."""
    stored = _STORED_BYTES.get(mode, 4)
    flatten = _STRIP_ROWS * width * 16 + width * height if mode in _WIDE_GREY else width * height * _FLATTEN_BYTES.get(mode, 4)
    return width * height * stored + flatten + _WORKSPACE


_WORKSPACE = 16 * 1024**2  # resampling and encoding buffers, whatever the picture


def _load(
    source: _TimedReader, size: int, budget: MemoryBudget, thumbnail: int = 0, turned: int | None = None
) -> tuple[np.ndarray, PhotoInfo]:
    if not source.read(1):
        raise DecodeError("file is empty (0 bytes)")
    source.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(source, formats=_photo_decoders()) as image:
            width, height = image.size
            if width <= 0 or height <= 0:
                raise DecodeError(f"image has no pixels ({width}×{height})")
            if width * height > MAX_PIXELS:
                raise DecodeError(f"image is too large to index safely ({width}×{height} pixels)")
            if image.format in _BOX_FORMATS and _boxes_run_past_the_end(source):
                raise DecodeError("file is truncated or incomplete")
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)
            if image.format in _JPEG_FAMILY and image.mode in ("RGB", "L", "CMYK", "YCbCr"):
                # DCT scaling: decode at the smallest 1/2^n scale still >= size on both sides.
                # a thumbnail wants its short side at 3/4 of its long one (a 4:3 photo, full size)
                least = max(size, thumbnail * 3 // 4)
                image.draft(image.mode, (least, least))
            # after draft(), image.size is what will really be decoded; reading EXIF may decode
            # too (a PNG's eXIf chunk can follow its pixels), so it happens inside the budget
            with budget.reserve(decode_cost(*image.size, image.mode)):
                source.restart()  # the wait for the budget is not the decode's time
                try:
                    orientation = _orientation(image) if turned is None else turned
                    taken = _exif_taken(image)
                    image.load()  # a truncated file raises (Pillow's LOAD_TRUNCATED_IMAGES stays off)
                    flat = _flatten(image)
                    if flat is not image:
                        image.close()  # the decoded pixels go back before anything else is made
                    # turned upright once small: the same pixels as turning first, without a
                    # full-size copy (the centre square of a turned picture is the turned centre square)
                    turn = UPRIGHT_TRANSPOSE.get(orientation)
                    square = fit_square(flat, size)
                    array = np.asarray((square.transpose(turn) if turn is not None else square).convert("RGB"), dtype=np.uint8)
                    small, look = make_thumbnail(flat, thumbnail, turn) if thumbnail else (None, None)
                    flat.close()
                finally:
                    image.close()  # the decoded pixels go back before the budget does
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return array, PhotoInfo(width=width, height=height, taken=taken, thumbnail=small, look=look)


_BOX_FORMATS = ("HEIF", "AVIF")  # ISO media files: a sequence of sized boxes


def _boxes_run_past_the_end(source: _TimedReader) -> bool:
    """Whether a HEIF/AVIF file's top-level boxes claim more bytes than it has: a cut-off copy
    (libheif would decode what it can of it, a picture that is not the photo)."""
    where = source.tell()
    try:
        end = source.seek(0, 2)
        offset = 0
        while offset + 8 <= end:
            source.seek(offset)
            header = source.read(16)
            size = int.from_bytes(header[0:4], "big")
            if size == 1 and len(header) == 16:
                size = int.from_bytes(header[8:16], "big")
            if size == 0:  # the last box, to the end of the file
                return False
            if size < 8:
                return True  # not a box at all: nothing after it can be trusted
            offset += size
        return offset > end
    finally:
        source.seek(where)


# EXIF orientation → the transpose that shows the stored pixels upright (as ImageOps.exif_transpose)
UPRIGHT_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
