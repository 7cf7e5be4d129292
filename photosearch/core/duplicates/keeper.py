"""Which photo of a group to keep, and why, in words a user can check.

Exact copies are the same bytes: the one not named like a copy, else the oldest file (most
likely the one first put there). The same photo in other forms: the one with most pixels; at equal pixels the original
rather than a copy or an edit by its name, a camera format (HEIC, TIFF, PNG) rather than a
JPEG export, then the least compressed (the largest file). A burst: the sharpest shot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from ..look import look_hash
from .kinds import Kind

# names that copies and edits get from phones, file managers and editors
COPY_NAME = re.compile(r"(copy|kopie|copia|edited|edit|bearbeitet|modifi|\(\d+\)$|~\d+$)", re.IGNORECASE)
FORMAT_RANK = {".heic": 3, ".heif": 3, ".tif": 3, ".tiff": 3, ".png": 2, ".webp": 1, ".avif": 1}  # JPEG and others: 0
PIXELS_MARGIN = 1.02  # fewer than 2 % more pixels is the same size


@dataclass(frozen=True)
class Candidate:
    photo_id: int
    path: str
    size: int
    width: int
    height: int
    mtime_ns: int
    sharpness: float | None = None
    taken: str | None = None


def suggest(kind: Kind, photos: list[Candidate]) -> tuple[Candidate, str]:
    """The photo to keep of a group, and the reason shown beside it."""
    if kind is Kind.EXACT:
        originals = [p for p in photos if not COPY_NAME.search(Path(p.path).stem)] or photos
        oldest = min(originals, key=lambda p: (p.mtime_ns, len(p.path), p.path))
        if len(originals) < len(photos):
            return oldest, "the original (the same bytes; the others' names say copy)"
        return oldest, "the oldest file (all are the same bytes)"
    if kind is Kind.BURST and all(p.sharpness is not None for p in photos):
        sharpest = max(photos, key=lambda p: (p.sharpness or 0.0, p.width * p.height))
        return sharpest, "the sharpest shot"
    most = max(p.width * p.height for p in photos)
    largest = [p for p in photos if p.width * p.height * PIXELS_MARGIN >= most]
    keeper, reason = _best_of_equals(largest)
    if len(largest) == len(photos):
        return keeper, reason
    pixels = f"most pixels ({keeper.width}×{keeper.height})"
    return keeper, pixels if len(largest) == 1 else f"{pixels}; of those, {reason}"


def _best_of_equals(photos: list[Candidate]) -> tuple[Candidate, str]:
    originals = [p for p in photos if not COPY_NAME.search(Path(p.path).stem)]
    if len(photos) == 1:
        return photos[0], "the only one"
    if originals and len(originals) < len(photos):
        keeper = _best_of_equals(originals)[0] if len(originals) > 1 else originals[0]
        return keeper, "the original (the others' names say copy or edit)"
    best_format = max(FORMAT_RANK.get(Path(p.path).suffix.lower(), 0) for p in photos)
    camera = [p for p in photos if FORMAT_RANK.get(Path(p.path).suffix.lower(), 0) == best_format]
    if len(camera) < len(photos):
        keeper = max(camera, key=lambda p: p.size)
        return keeper, f"the {Path(keeper.path).suffix.lstrip('.').upper()} (a camera format; the others are exports)"
    keeper = max(photos, key=lambda p: (p.size, -p.mtime_ns))
    return keeper, "the least compressed (the largest file)"


THUMBNAIL_PIXELS = 4096 * 4096  # far above any thumbnail: a bigger file in its place is not decoded


def _thumbnail(path: Path) -> Image.Image | None:
    """A thumbnail's grey pixels, or None: the thumbnails are ours, but read as if damaged (a
    truncated, replaced or hostile file gives None, never an exception)."""
    try:
        with Image.open(path, formats=["JPEG"]) as image:
            if image.width * image.height > THUMBNAIL_PIXELS:
                return None
            return image.convert("L")
    except Exception:
        return None


def thumbnail_look(path: Path) -> int | None:
    """The look of a photo indexed before looks were kept, from its thumbnail (a 320-pixel JPEG
    decodes in about a millisecond); None without a readable thumbnail."""
    grey = _thumbnail(path)
    return look_hash(grey) if grey is not None else None


def sharpness(thumbnail: Path) -> float | None:
    """How sharp a photo looks: the variance of the Laplacian of its thumbnail's grey pixels
    (higher is sharper; only comparable between shots of one scene)."""
    grey = _thumbnail(thumbnail)
    if grey is None:
        return None
    edges = np.asarray(grey.filter(ImageFilter.Kernel((3, 3), (0, 1, 0, 1, -4, 1, 0, 1, 0), 1, 128)), dtype=np.float32)
    return float(edges.var())
