"""HEIC files for tests, benchmarks and the demo's pre-made samples.

Writing HEIC takes an HEVC encoder: pillow-heif's x265, which is GPL. The app itself only
decodes (pi-heif: libheif and libde265 without an encoder), so the installers carry no encoder
and the demo copies the HEICs made once by `tools/make_demo_heic.py`. Encoding never registers
a Pillow plugin: decoding stays with the app's own choice (core/images.py).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def can_write_heic() -> bool:
    """Whether this environment has an HEVC encoder (pillow-heif's x265)."""
    try:
        from pillow_heif import libheif_info
    except ImportError:
        return False
    try:
        return bool(libheif_info().get("HEIF"))  # the encoder's name; empty without one
    except Exception:  # an old or broken build
        return False


def save_heic(pixels: Image.Image, path: Path, quality: int, exif: bytes) -> Path:
    """Encode `pixels` as they are stored (with their EXIF) to `path`."""
    if not can_write_heic():
        raise RuntimeError("writing HEIC needs pillow-heif with its x265 encoder (pip install pillow-heif)")
    from pillow_heif import from_pillow

    path.parent.mkdir(parents=True, exist_ok=True)
    from_pillow(pixels.convert("RGB")).save(path, quality=quality, exif=exif)
    return path
