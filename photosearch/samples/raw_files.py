"""RAW files for tests and benchmarks: small but real DNGs that LibRaw reads as a camera's.

A DNG is a TIFF: the sensor's mosaic (one colour per pixel, in a 2×2 red-green-green-blue
pattern, 16 bits) in one IFD and, as cameras write it, a JPEG preview the camera developed in
IFD0 with the sensor data in a sub-IFD. This writer makes both shapes, with or without the
preview, turned by an Orientation tag, with an EXIF capture time: what core/raw.py must handle.
The colour matrix says the sensor sees linear sRGB, so LibRaw's development gives back the
picture that was drawn.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from .synthetic import stored_pixels

_SHORT, _LONG, _BYTE, _ASCII, _RATIONAL, _SRATIONAL = 3, 4, 1, 2, 5, 10
_SIZES = {_BYTE: 1, _ASCII: 1, _SHORT: 2, _LONG: 4, _RATIONAL: 8, _SRATIONAL: 8}
# XYZ (D65) → linear sRGB: the "camera" of these files sees linear sRGB
_XYZ_TO_SRGB = ((3.2406, -1.5372, -0.4986), (-0.9689, 1.8758, 0.0415), (0.0557, -0.2040, 1.0570))

Entry = tuple[int, int, object]  # tag, TIFF type, value (numbers, pairs for rationals, or bytes)


class _Late(bytes):
    """Picture data whose offset an IFD names: written after every IFD, at the end of the
    file, as cameras do (their IFDs and EXIF lie in the file's first kilobytes)."""


class _TiffWriter:
    """Lays out a little-endian TIFF: IFDs appended, each after the ones it points to (sub-IFDs,
    EXIF) so their offsets are known; picture data (`_Late`) appended at the end."""

    def __init__(self) -> None:
        self.buffer = bytearray(b"II*\x00\x00\x00\x00\x00")
        self.late: list[tuple[int, bytes]] = []  # (where its offset goes, the data)

    def blob(self, data: bytes) -> int:
        if len(self.buffer) % 2:
            self.buffer += b"\x00"
        offset = len(self.buffer)
        self.buffer += data
        return offset

    def ifd(self, entries: list[Entry]) -> int:
        encoded: list[bytes] = []
        late: list[tuple[int, bytes]] = []
        for tag, kind, value in sorted(entries, key=lambda e: e[0]):
            if isinstance(value, _Late):
                late.append((len(encoded), value))
                value = 0
            data, count = _encode(kind, value)
            field = struct.pack("<I", self.blob(data)) if len(data) > 4 else data.ljust(4, b"\x00")
            encoded.append(struct.pack("<HHI", tag, kind, count) + field)
        offset = self.blob(struct.pack("<H", len(encoded)) + b"".join(encoded) + b"\x00\x00\x00\x00")
        self.late += [(offset + 2 + 12 * index + 8, data) for index, data in late]
        return offset

    def finish(self, first_ifd: int) -> bytes:
        self.buffer[4:8] = struct.pack("<I", first_ifd)
        for where, data in self.late:
            self.buffer[where : where + 4] = struct.pack("<I", self.blob(data))
        return bytes(self.buffer)


def _encode(kind: int, value: object) -> tuple[bytes, int]:
    if kind == _ASCII:
        text = value if isinstance(value, bytes) else str(value).encode() + b"\x00"
        return text, len(text)
    values = list(value) if isinstance(value, list | tuple) else [value]
    if kind in (_RATIONAL, _SRATIONAL):
        code = "<II" if kind == _RATIONAL else "<ii"
        return b"".join(struct.pack(code, *pair) for pair in values), len(values)  # type: ignore[misc]
    code = {_BYTE: "<B", _SHORT: "<H", _LONG: "<I"}[kind]
    return b"".join(struct.pack(code, v) for v in values), len(values)


def _rational(x: float) -> tuple[int, int]:
    return (round(x * 10000), 10000)


def mosaic(picture: Image.Image) -> np.ndarray:
    """The 16-bit RGGB sensor data a camera seeing `picture` (sRGB) would record."""
    srgb = np.asarray(picture.convert("RGB"), dtype=np.float64) / 255.0
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    height, width = linear.shape[:2]
    sensor = np.empty((height, width), dtype=np.float64)
    sensor[0::2, 0::2] = linear[0::2, 0::2, 0]
    sensor[0::2, 1::2] = linear[0::2, 1::2, 1]
    sensor[1::2, 0::2] = linear[1::2, 0::2, 1]
    sensor[1::2, 1::2] = linear[1::2, 1::2, 2]
    return np.clip(sensor * 65535.0, 0, 65535).astype("<u2")


def write_dng(
    path: Path,
    display: Image.Image,
    orientation: int = 1,
    preview: int | None = 1024,
    taken: str | None = "2024:06:30 18:05:00",
    preview_picture: Image.Image | None = None,
) -> Path:
    """Write `display` (the picture as it should be seen) as a DNG whose sensor data is stored
    turned as `orientation` says, with a JPEG preview `preview` pixels on its long side (None:
    no preview) and an EXIF DateTimeOriginal `taken` ("YYYY:MM:DD HH:MM:SS"; None: none).
    `preview_picture`: another picture for the preview (tests tell which one was read)."""
    stored = stored_pixels(display.convert("RGB"), orientation)
    width, height = stored.size
    width, height = width - width % 2, height - height % 2
    stored = stored.crop((0, 0, width, height))
    sensor = mosaic(stored).tobytes()
    tiff = _TiffWriter()
    raw_entries: list[Entry] = [
        (254, _LONG, 0),
        (256, _LONG, width),
        (257, _LONG, height),
        (258, _SHORT, 16),
        (259, _SHORT, 1),
        (262, _SHORT, 32803),
        (273, _LONG, _Late(sensor)),
        (277, _SHORT, 1),
        (278, _LONG, height),
        (279, _LONG, len(sensor)),
        (284, _SHORT, 1),
        (33421, _SHORT, (2, 2)),
        (33422, _BYTE, (0, 1, 1, 2)),
        (50714, _LONG, 0),
        (50717, _LONG, 65535),
    ]
    camera: list[Entry] = [
        (271, _ASCII, "photosearch"),
        (272, _ASCII, "test sensor"),
        (274, _SHORT, orientation),
        (50706, _BYTE, (1, 4, 0, 0)),
        (50708, _ASCII, "photosearch test sensor"),
        (50721, _SRATIONAL, [_rational(v) for row in _XYZ_TO_SRGB for v in row]),
        (50728, _RATIONAL, [_rational(1.0)] * 3),
        (50778, _SHORT, 21),
    ]
    if taken is not None:
        camera.append((34665, _LONG, tiff.ifd([(36867, _ASCII, taken)])))
    if preview is None:
        return _write(path, tiff.finish(tiff.ifd(raw_entries + camera)))
    sub_ifd = tiff.ifd(raw_entries)
    small = stored.copy() if preview_picture is None else stored_pixels(preview_picture.convert("RGB"), orientation)
    small.thumbnail((preview, preview))
    jpeg = io.BytesIO()
    small.save(jpeg, "JPEG", quality=90)
    preview_entries: list[Entry] = [
        (254, _LONG, 1),
        (256, _LONG, small.width),
        (257, _LONG, small.height),
        (258, _SHORT, (8, 8, 8)),
        (259, _SHORT, 7),
        (262, _SHORT, 6),
        (273, _LONG, _Late(jpeg.getvalue())),
        (277, _SHORT, 3),
        (278, _LONG, small.height),
        (279, _LONG, len(jpeg.getvalue())),
        (284, _SHORT, 1),
        (330, _LONG, sub_ifd),
    ]
    return _write(path, tiff.finish(tiff.ifd(preview_entries + camera)))


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
