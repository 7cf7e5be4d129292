"""Camera RAW files (NEF, CR2, CR3, ARW, RAF, RW2, ORF, DNG…) through LibRaw (rawpy).

Why it reads the camera's own preview first: every RAW carries a JPEG the camera developed,
usually at full or screen size, and decoding it (DCT-scaled, as any JPEG here) costs a few
milliseconds where demosaicing the sensor data costs hundreds (benchmarks/raw_decode.py). A
preview too small for the model or the thumbnail (some cameras embed only 160×120, as Immich
found) is not used: the sensor data is then demosaiced at half size, which is still far above
what the model sees. The RAW's own orientation and capture time count, not the preview's (a
preview is stored as the sensor saw it, and often without EXIF).

LibRaw cannot be interrupted once it decodes, so a RAW's decode is bounded by the pixel limit
and the memory budget (reserved before the sensor data is read), not by a clock.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from .images import MAX_PIXELS, UPRIGHT_TRANSPOSE, DecodeError, PhotoInfo, exif_taken, fit_square, load_for_model
from .memory_budget import SHARED_BUDGET, MemoryBudget
from .thumbnails import make_thumbnail

# LibRaw's `flip` → the EXIF orientation that shows the picture upright
_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}
_HEAD_BYTES = 512 * 1024  # where TIFF-based RAW files keep their first IFDs and EXIF
_WORKSPACE = 16 * 1024**2


def load_raw(
    path: Path | str, size: int, budget: MemoryBudget | None = None, thumbnail: int = 0, opened: BinaryIO | None = None
) -> tuple[np.ndarray, PhotoInfo]:
    """A RAW file as `images.load_for_model` gives a photo: (size, size, 3) uint8, upright,
    with its info (the sensor's developed size, capture time, thumbnail and look). `opened`:
    the file already open (its EXIF head is read from it rather than opened again)."""
    try:
        import rawpy
    except ImportError:
        raise DecodeError("RAW files need rawpy, which this installation lacks") from None
    budget = budget or SHARED_BUDGET
    try:
        with rawpy.imread(str(path)) as raw:
            sizes = raw.sizes
            if sizes.raw_width * sizes.raw_height > MAX_PIXELS or sizes.width * sizes.height > MAX_PIXELS:
                raise DecodeError(f"image is too large to index safely ({sizes.raw_width}×{sizes.raw_height} pixels)")
            if sizes.width <= 0 or sizes.height <= 0:
                raise DecodeError("RAW file holds no picture")
            orientation = _FLIP_TO_ORIENTATION.get(int(sizes.flip), 1)
            taken = _taken_from_head(opened if opened is not None else path)
            least = max(size, thumbnail * 3 // 4)
            preview = _preview_jpeg(raw, rawpy, least)
            if preview is not None:
                pixels, info = load_for_model(io.BytesIO(preview), size, budget, thumbnail, orientation=orientation)
                taken = taken or info.taken
                thumb, look = info.thumbnail, info.look
            else:
                pixels, thumb, look = _half_size(raw, size, budget, thumbnail, orientation)
    except DecodeError:
        raise
    except MemoryError:
        raise DecodeError("not enough memory to decode this image", retry=True) from None
    except OSError as exc:
        raise DecodeError(f"could not read file ({exc.strerror or exc})", retry=exc.errno is not None) from None
    except Exception as exc:  # LibRaw's errors, and whatever a hostile file provokes
        raise DecodeError(_reason(exc)) from None
    width, height = (sizes.height, sizes.width) if orientation in (5, 6, 7, 8) else (sizes.width, sizes.height)
    return pixels, PhotoInfo(width=width, height=height, taken=taken, thumbnail=thumb, look=look)


def _reason(exc: Exception) -> str:
    name = type(exc).__name__
    if name in ("LibRawFileUnsupportedError", "LibRawIOError"):  # LibRaw reads a file it cannot place as an I/O error
        return "not a RAW file this app can read (or a damaged one)"
    if name in ("LibRawDataError", "LibRawRequestForNonexistentImageError"):
        return "RAW file is damaged or incomplete"
    if name == "LibRawTooBigError":
        return "image is too large to index safely"
    return f"could not decode RAW file ({name}: {exc})"


def _preview_jpeg(raw: object, rawpy: object, least: int) -> bytes | None:
    """The camera's JPEG preview when it is at least `least` pixels on its short side."""
    try:
        thumb = raw.extract_thumb()  # type: ignore[attr-defined]
    except Exception:  # no preview, or one LibRaw cannot hand over
        return None
    if thumb.format != rawpy.ThumbFormat.JPEG:  # type: ignore[attr-defined]
        return None
    data = bytes(thumb.data)
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG",)) as header:
            width, height = header.size
    except Exception:
        return None
    return data if min(width, height) >= least else None


def _half_size(
    raw: object, size: int, budget: MemoryBudget, thumbnail: int, orientation: int
) -> tuple[np.ndarray, bytes | None, int | None]:
    """Demosaic at half size (each 2×2 block of the sensor becomes one pixel): the sensor data,
    LibRaw's half-size working image and the 8-bit result are reserved before reading."""
    sizes = raw.sizes  # type: ignore[attr-defined]
    sensor = int(sizes.raw_width) * int(sizes.raw_height)
    with budget.reserve(sensor * 2 + sensor * 2 + sensor * 3 // 4 * 2 + _WORKSPACE):
        rgb = raw.postprocess(  # type: ignore[attr-defined]
            half_size=True, use_camera_wb=True, output_bps=8, user_flip=0, no_auto_bright=False
        )
        picture = Image.fromarray(np.ascontiguousarray(rgb))
        del rgb
        turn = UPRIGHT_TRANSPOSE.get(orientation)
        square = fit_square(picture, size)
        pixels = np.asarray((square.transpose(turn) if turn is not None else square).convert("RGB"), dtype=np.uint8)
        thumb, look = make_thumbnail(picture, thumbnail, turn) if thumbnail else (None, None)
        picture.close()
    return pixels, thumb, look


def _taken_from_head(source: Path | str | BinaryIO) -> str | None:
    """The capture time from a TIFF-based RAW's own EXIF (DNG, NEF, CR2, ARW, PEF, ORF…);
    None for the others (CR3, RAF), whose preview's EXIF is read instead."""
    try:
        if isinstance(source, str | Path):
            with open(source, "rb") as handle:
                head = handle.read(_HEAD_BYTES)
        else:
            source.seek(0)
            head = source.read(_HEAD_BYTES)
    except OSError:
        return None
    if head[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    exif = Image.Exif()
    with warnings.catch_warnings():  # a RAW's maker notes read as "corrupt EXIF" to Pillow
        warnings.simplefilter("ignore")
        try:
            exif.load(head)
            return exif_taken(exif)
        except Exception:
            return None
