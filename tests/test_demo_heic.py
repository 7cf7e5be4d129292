"""The demo's HEIC photos are made beforehand (the installed app has no HEVC encoder: x265 is
GPL) and decoded by the app's own HEIF decoder, pi-heif, which carries no encoder."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from photosearch.core.images import fit_square, load_for_model
from photosearch.samples import synthetic
from photosearch.samples.demo import DEMO_HEIC, DEMO_HEIC_COUNT, DEMO_HEIC_SIZE, demo_heic_name, demo_taken, generate_library
from photosearch.samples.heic import can_write_heic, save_heic

SIZE = 224


@pytest.mark.parametrize("i", range(DEMO_HEIC_COUNT))
def test_each_premade_heic_shows_its_photo_with_its_time(i: int) -> None:
    """What `tools/make_demo_heic.py` wrote is still what the demo means: the label drawn the
    way `write_demo_heic` draws it, the demo's capture time, the demo's size."""
    path = DEMO_HEIC / demo_heic_name(i)
    pixels, info = load_for_model(path, SIZE)
    expected = np.asarray(fit_square(synthetic.render(synthetic.all_labels()[i], DEMO_HEIC_SIZE, random.Random(i)), SIZE))
    difference = np.abs(pixels.astype(np.int16) - expected.astype(np.int16)).mean()
    assert difference < 4, f"{path.name} is {difference:.1f} levels off its photo: run tools/make_demo_heic.py"
    assert (info.width, info.height) == DEMO_HEIC_SIZE
    assert info.taken == demo_taken(i).replace(":", "-", 2)


def test_the_demo_copies_the_premade_heics(tmp_path: Path) -> None:
    photos = generate_library(tmp_path, count=DEMO_HEIC_COUNT + 2, media=False)
    heics = [photo.path for photo in photos if photo.path.suffix == ".heic"]
    assert [path.name for path in heics] == [demo_heic_name(i) for i in range(DEMO_HEIC_COUNT)]
    assert all(path.read_bytes() == (DEMO_HEIC / path.name).read_bytes() for path in heics)


def test_heic_is_decoded_by_pi_heif_where_installed() -> None:
    """The installers ship pi-heif alone; where both are installed the app takes the same one,
    so the tests decode with what users get."""
    pytest.importorskip("pi_heif")
    script = (
        "from PIL import Image; from photosearch.core import images; images._photo_decoders();"
        "print(Image.OPEN['HEIF'][0].__module__)"
    )
    decoder = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    assert decoder.startswith("pi_heif."), decoder


def test_writing_heic_without_an_encoder_says_what_it_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As in the installed app: pi-heif may be there, pillow-heif (the encoder) is not."""
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # import fails as if not installed
    assert not can_write_heic()
    with pytest.raises(RuntimeError, match="pillow-heif"):
        save_heic(synthetic.render(synthetic.all_labels()[0], (64, 48), random.Random(0)), tmp_path / "x.heic", 85, b"")
