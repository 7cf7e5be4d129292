"""A photo's look in 64 bits: a perceptual hash (the signs of its lowest DCT frequencies).

Computed from the upright thumbnail's pixels while the photo is decoded (no second decode).
Resizing, recompression, another format and exposure or colour edits move it by a few bits;
a different photo lands about 32 bits away. Our own few lines of numpy instead of ImageHash:
it needs scipy for this DCT, tens of megabytes in every installer for one matrix product.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SIDE = 32  # the picture is reduced to SIDE × SIDE grey pixels
LOW = 8  # and the LOW × LOW lowest frequencies make the hash (64 bits)


def _dct_matrix(n: int) -> np.ndarray:
    """The orthonormal DCT-II as a matrix: the 2-D transform of X is D @ X @ D.T."""
    k = np.arange(n)[:, None]
    matrix = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n)) * np.sqrt(2 / n)
    matrix[0] /= np.sqrt(2)
    return matrix.astype(np.float32)


_DCT = _dct_matrix(SIDE)


def look_hash(image: Image.Image) -> int:
    """The 64-bit look of an upright picture (any mode), as an unsigned integer."""
    grey = image.convert("L").resize((SIDE, SIDE), Image.Resampling.BOX)
    pixels = np.asarray(grey, dtype=np.float32)
    low = (_DCT @ pixels @ _DCT.T)[:LOW, :LOW]
    bits = (low > np.median(low)).reshape(-1)
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def look_distance(a: int, b: int) -> int:
    """How many of the 64 bits differ: 0 for the same look, about 32 for unrelated photos."""
    return (a ^ b).bit_count()


def to_db(look: int | None) -> int | None:
    """As SQLite stores it (a signed 64-bit integer)."""
    return None if look is None else look - (1 << 64) if look >= 1 << 63 else look


def from_db(value: int | None) -> int | None:
    return None if value is None else value & ((1 << 64) - 1)
