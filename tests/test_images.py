"""Decoding: every mode becomes correct RGB, orientation is applied, bad files become reasons."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from photosearch.core.images import DecodeError, load_for_model
from photosearch.samples import synthetic
from tests.conftest import corpus_dir


def _save(tmp_path: Path, name: str, image: Image.Image, **options: Any) -> Path:
    path = tmp_path / name
    image.save(path, **options)
    return path


def test_jpeg_12mp_decodes_small_and_upright(tmp_path: Path) -> None:
    label = synthetic.LayoutLabel("red", "blue", "vertical")
    path = synthetic.write_photo(tmp_path / "big.jpg", label, (4032, 3024), random.Random(1), orientation=6)
    pixels, info = load_for_model(path, 224)
    assert pixels.shape == (224, 224, 3) and pixels.dtype == np.uint8
    assert (info.width, info.height) == (4032, 3024)  # displayed size, after orientation
    assert info.taken == "2024-06-01 12:00:00"
    top, bottom = pixels[:60].reshape(-1, 3).mean(0), pixels[-60:].reshape(-1, 3).mean(0)
    assert top[0] > top[2] and bottom[2] > bottom[0]  # red on top, blue below, as displayed


def test_jpeg_draft_decodes_at_reduced_scale(tmp_path: Path) -> None:
    """The DCT-scaled decode is what keeps 12 MP photos cheap: check Pillow really takes it."""
    path = _save(tmp_path / "", "a.jpg", Image.new("RGB", (4000, 3000), (10, 200, 30)), quality=80)
    with Image.open(path) as image:
        image.draft("RGB", (224, 224))
        assert image.size == (500, 375)
    pixels, _ = load_for_model(path, 224)
    assert abs(int(pixels[..., 1].mean()) - 200) < 4


@pytest.mark.parametrize("orientation", range(2, 9))
def test_every_exif_orientation_is_applied(tmp_path: Path, orientation: int) -> None:
    """The same displayed picture, stored under each orientation, decodes to the same pixels."""
    label = synthetic.LayoutLabel("yellow", "black", "horizontal")
    upright = synthetic.write_photo(tmp_path / "o1.jpg", label, (800, 600), random.Random(5), 1)
    turned = synthetic.write_photo(tmp_path / f"o{orientation}.jpg", label, (800, 600), random.Random(5), orientation)
    reference, _ = load_for_model(upright, 64)
    pixels, info = load_for_model(turned, 64)
    assert np.abs(pixels.astype(int) - reference.astype(int)).mean() < 6
    assert (info.width, info.height) == (800, 600)


def test_modes_convert_with_one_transparency_rule(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (100, 100), (255, 0, 0, 0))  # fully transparent red
    palette = Image.new("P", (100, 100), 0)
    palette.putpalette([0, 0, 255] + [0] * 765)
    paths = {
        "rgba": _save(tmp_path, "rgba.png", rgba),
        "la": _save(tmp_path, "la.png", Image.new("LA", (100, 100), (0, 0))),
        "p_trns": _save(tmp_path, "p.png", palette, transparency=0),
        "grey": _save(tmp_path, "grey.jpg", Image.new("L", (100, 100), 90)),
        "cmyk": _save(tmp_path, "cmyk.jpg", Image.new("CMYK", (100, 100), (0, 255, 255, 0))),
        "i16": _save(tmp_path, "i16.png", Image.fromarray(np.full((100, 100), 65535 // 2, dtype=np.uint16))),
    }
    expect = {
        "rgba": (255, 255, 255),  # transparency composites onto white
        "la": (255, 255, 255),
        "p_trns": (255, 255, 255),
        "grey": (90, 90, 90),
        "cmyk": (255, 0, 0),
        "i16": (127, 127, 127),  # scaled, not clipped to white
    }
    for name, path in paths.items():
        pixels, _ = load_for_model(path, 32)
        assert np.abs(pixels.reshape(-1, 3).mean(0) - np.array(expect[name])).max() < 12, name


def test_animated_gif_uses_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (50, 50), c) for c in ((0, 255, 0), (255, 0, 0))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    pixels, _ = load_for_model(path, 32)
    assert pixels[..., 1].mean() > 200 and pixels[..., 0].mean() < 50


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header(width: int, height: int) -> bytes:
    """A few dozen bytes declaring any size (a decompression bomb when the size is huge)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"")) + _chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bomb.png", _png_header(70000, 70000), "too large"),
        ("empty.jpg", b"", "file is empty"),
        ("garbage.jpg", b"\x00not an image at all" * 10, "not a recognised image"),
        ("zero.png", _png_header(0, 10), "."),
    ],
)
def test_hostile_files_become_reasons(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DecodeError, match=reason):
        load_for_model(path, 64)


def test_a_postscript_file_named_like_a_photo_is_never_handed_to_another_program(tmp_path: Path) -> None:
    """Pillow knows EPS, and decodes it by running Ghostscript on the file: a PostScript program
    can loop for ever or write files. Only photo decoders may see a file from a photo folder."""
    marker = tmp_path / "written-by-postscript"
    program = (
        "%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\n"
        f"({marker}) (w) file closefile\n"  # what a hostile file would do, were it run
        "0 0 moveto 64 64 lineto stroke showpage\n"
    )
    for name in ("holiday.jpg", "scan.tif", "x.png"):
        path = tmp_path / name
        path.write_text(program)
        with pytest.raises(DecodeError, match="not a recognised image format"):
            load_for_model(path, 64)
    assert not marker.exists()


def test_formats_pillow_knows_that_are_not_photos_are_refused(tmp_path: Path) -> None:
    for fmt, name in (("ICO", "icon.jpg"), ("PCX", "old.png"), ("TGA", "frame.webp"), ("PPM", "raw.bmp")):
        path = tmp_path / name
        Image.new("RGB", (64, 64), (200, 10, 10)).save(path, fmt)
        with pytest.raises(DecodeError, match="not a recognised image format"):
            load_for_model(path, 64)


def test_a_camera_jpeg_with_a_second_picture_decodes_as_a_jpeg(tmp_path: Path) -> None:
    """MPO (a JPEG carrying a second picture, as many cameras write): opened by JPEG's decoder,
    decoded at a reduced scale like any JPEG, the first picture used."""
    path = tmp_path / "camera.jpg"
    first = Image.new("RGB", (2400, 1800), (220, 20, 20))
    first.save(path, "MPO", save_all=True, append_images=[Image.new("RGB", (2400, 1800), (20, 20, 220))])
    with Image.open(path) as opened:
        assert opened.format == "MPO"
    pixels, info = load_for_model(path, 64)
    assert (info.width, info.height) == (2400, 1800)
    assert pixels[32, 32, 0] > 180 and pixels[32, 32, 2] < 60


def test_truncated_jpeg_is_skipped_with_a_reason(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (0, 0, 255)).save(buffer, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 3])
    with pytest.raises(DecodeError, match="truncated"):
        load_for_model(path, 64)


def test_missing_file_is_a_reason(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="disappeared"):
        load_for_model(tmp_path / "gone.jpg", 64)


def test_heic_decodes(tmp_path: Path) -> None:
    path = synthetic.write_photo(tmp_path / "x.heic", synthetic.ShapeLabel("red", "square"), (320, 240), random.Random(3))
    pixels, info = load_for_model(path, 64)
    assert pixels.shape == (64, 64, 3) and info.width == 320


def test_avif_decodes(tmp_path: Path) -> None:
    path = _save(tmp_path, "x.avif", Image.new("RGB", (96, 64), (200, 30, 30)))
    pixels, info = load_for_model(path, 32)
    assert (info.width, info.height) == (96, 64)
    assert np.abs(pixels.reshape(-1, 3).mean(0) - np.array([200, 30, 30])).max() < 12


# -- real third-party files, when the shared corpus is beside the checkout ---------------------

CORPUS_EXPECTED = {
    "junk_jpeg_header.jpg": None,
    "pil_sample_cmyk.jpg": None,
    "hopper_gray.jpg": None,
    "hopper_orientation_5.jpg": None,
    "iss634.gif": None,
    "transparent.png": None,
    "p_trns_single.png": None,
    "16bit.cropped.tif": None,
    "mode_16bit.png": None,
    "decompression_bomb.gif": "too large",
    "zero_width.gif": ".",
    "broken.png": ".",
    "badheadersize.bmp": ".",
    "truncated_jpeg.jpg": "truncated",
    "ultrahdr.jpg": "truncated",
}


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTED))
def test_corpus_tricky_files(name: str) -> None:
    path = corpus_dir("tricky") / name
    reason = CORPUS_EXPECTED[name]
    if reason is None:
        pixels, _ = load_for_model(path, 64)
        assert pixels.shape == (64, 64, 3)
        assert pixels.std() > 1.0, "decoded to a flat image"
    else:
        with pytest.raises(DecodeError, match=reason):
            load_for_model(path, 64)


def test_corpus_16bit_tiff_is_not_white() -> None:
    pixels, _ = load_for_model(corpus_dir("tricky") / "16bit.cropped.tif", 64)
    assert 20 < pixels.mean() < 235


@pytest.mark.parametrize("kind", ["Landscape", "Portrait"])
def test_corpus_orientations_all_look_upright(kind: str) -> None:
    folder = corpus_dir("orientation")
    reference, _ = load_for_model(folder / f"{kind}_1.jpg", 64)
    for n in range(2, 9):
        pixels, _ = load_for_model(folder / f"{kind}_{n}.jpg", 64)
        diff = np.abs(pixels.astype(int) - reference.astype(int)).mean()
        assert diff < 12, f"{kind}_{n}.jpg differs from upright by {diff:.1f}"


@pytest.mark.parametrize("name", ["RGB_8__128x128.heif", "RGBA_10__29x100.heif"])
def test_corpus_heif_decodes(name: str) -> None:
    pixels, _ = load_for_model(corpus_dir("heif") / name, 64)
    assert pixels.shape == (64, 64, 3)


def test_corpus_truncated_heic_is_skipped_as_truncated(tmp_path: Path) -> None:
    """libheif decodes what it can of this cut-off file (a 16×16 picture that is not the photo):
    it is skipped, as a truncated JPEG is. Its intact copy still decodes."""
    with pytest.raises(DecodeError, match="truncated"):
        load_for_model(corpus_dir("heif") / "truncated_truncated.heic", 64)
    whole = (corpus_dir("heif") / "RGB_8__128x128.heif").read_bytes()
    for cut in (len(whole) - 1, len(whole) // 2):
        (tmp_path / "cut.heic").write_bytes(whole[:cut])
        with pytest.raises(DecodeError):
            load_for_model(tmp_path / "cut.heic", 64)


def test_a_decode_that_runs_past_its_time_is_given_up(tmp_path: Path) -> None:
    """A decode is stopped at its next read once its time is up, so no file can hold an indexing
    thread for ever; the same file decodes with the usual limit."""
    noise = np.random.default_rng(1).integers(0, 255, (1500, 2000, 3), dtype=np.uint8)
    path = _save(tmp_path, "slow.png", Image.fromarray(noise), compress_level=1)
    with pytest.raises(DecodeError, match="took longer than"):
        load_for_model(path, 64, time_limit=0.001)
    pixels, _ = load_for_model(path, 64)
    assert pixels.shape == (64, 64, 3)


# -- what a decode really holds ------------------------------------------------------------------

_PEAK_PROBE = """
import sys
from photosearch.core.images import decode_cost, load_for_model
from PIL import Image

def high_water():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM"))

before = high_water()
load_for_model(sys.argv[1], 224, thumbnail=320)
peak = high_water() - before
with Image.open(sys.argv[1]) as image:
    cost = decode_cost(*image.size, image.mode)
print(peak, cost)
"""


def _peak_and_cost(path: Path) -> tuple[int, int]:
    """A decode's real peak (the process's high-water mark: a fresh process per file) and its
    counted cost."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _PEAK_PROBE, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    peak, cost = map(int, out.stdout.split())
    return peak, cost


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the high-water mark from Linux's /proc")
def test_the_decode_budget_counts_what_a_decode_really_holds(tmp_path: Path) -> None:
    """The budget is only as good as the cost it is told: for every kind of picture, what a
    decode really holds at its peak stays within its counted cost."""
    gradient = np.broadcast_to(np.arange(4000, dtype=np.uint8)[None, :, None], (3000, 4000, 3))
    photo = Image.fromarray(np.ascontiguousarray(gradient))
    sideways = Image.Exif()
    sideways[0x0112] = 6
    cases = [
        _save(tmp_path, "rgb.png", photo),
        _save(tmp_path, "sideways.png", photo, exif=sideways),  # its EXIF follows the pixels
        _save(tmp_path, "rgba.png", photo.convert("RGBA")),
        _save(tmp_path, "grey-sideways.png", photo.convert("L"), exif=sideways),
        _save(tmp_path, "palette.png", photo.convert("P"), transparency=0),
        _save(tmp_path, "grey-alpha.png", photo.convert("LA")),
        _save(tmp_path, "cmyk.tif", photo.convert("CMYK"), compression="tiff_lzw"),
        _save(tmp_path, "float.tif", Image.fromarray(np.full((3000, 4000), 0.5, np.float32)), compression="tiff_lzw"),
    ]
    for path in cases:
        peak, cost = _peak_and_cost(path)
        assert peak <= cost * 1.1 + (16 << 20), f"{path.name}: held {peak >> 20} MB, counted {cost >> 20} MB"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the high-water mark from Linux's /proc")
def test_a_small_16_bit_png_of_a_huge_picture_stays_within_the_budget(tmp_path: Path) -> None:
    """A 0.5 MB 16-bit PNG of 15,000 × 15,000 pixels once took 3 GB to decode (the budget is
    2 GB): its grey values are scaled a strip at a time now, and the cost says so."""
    from photosearch.core.memory_budget import DEFAULT_DECODE_BUDGET

    grey = np.zeros((15000, 15000), dtype=np.uint16)
    grey[::7, ::5] = 4000
    path = _save(tmp_path, "scan.png", Image.fromarray(grey))
    del grey
    assert path.stat().st_size < 1 << 20
    peak, cost = _peak_and_cost(path)
    assert peak <= cost * 1.1 + (16 << 20) and cost < DEFAULT_DECODE_BUDGET / 2, (peak >> 20, cost >> 20)


def test_every_decode_counts_against_the_one_shared_budget(tmp_path: Path) -> None:
    """Indexing, remade thumbnails and photo queries decode in one process: a decode that is
    given no budget of its own waits for the shared one, so together they stay within it."""
    import threading

    from photosearch.core.memory_budget import SHARED_BUDGET

    path = _save(tmp_path, "photo.png", Image.new("RGB", (640, 480), (10, 200, 30)))
    finished = threading.Event()

    def decode() -> None:
        load_for_model(path, 64)
        finished.set()

    worker = threading.Thread(target=decode)
    with SHARED_BUDGET.reserve(SHARED_BUDGET.limit):
        worker.start()
        assert not finished.wait(0.5), "decoded while the whole budget was held elsewhere"
    assert finished.wait(10)
    worker.join()


_WAIT_PROBE = """
import sys, threading, time
from photosearch.core.images import load_for_model
from photosearch.core.memory_budget import SHARED_BUDGET

def high_water():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM"))

before = high_water()
with SHARED_BUDGET.reserve(SHARED_BUDGET.limit):
    decode = threading.Thread(target=load_for_model, args=(sys.argv[1], 224))
    decode.start()
    time.sleep(1.0)
    waiting = high_water() - before
decode.join()
print(waiting, high_water() - before)
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the high-water mark from Linux's /proc")
def test_a_decode_waiting_for_the_budget_has_decoded_nothing(tmp_path: Path) -> None:
    """Looking for a PNG's EXIF decodes all of it (an eXIf chunk may follow the pixels, so a PNG
    without one is read to its end): that, too, waits for the budget, or threads waiting their
    turn would each hold a whole picture."""
    import subprocess
    import sys

    path = _save(tmp_path, "plain.png", Image.new("RGB", (4000, 3000), (10, 120, 200)))
    out = subprocess.run([sys.executable, "-c", _WAIT_PROBE, str(path)], capture_output=True, text=True, timeout=60, check=True)
    waiting, done = map(int, out.stdout.split())
    # the picture is 48 MB decoded; a waiting thread's own start (its stack, the imports it
    # finishes) has measured up to 8 MB and a page more, so the margin lies well between
    assert waiting < 16 << 20 < 40 << 20 < done, (waiting >> 20, done >> 20)
