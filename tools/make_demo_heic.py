"""Make the demo's HEIC photos, kept in photosearch/resources/demo.

    .venv/bin/python tools/make_demo_heic.py

The installed app decodes HEIC but carries no encoder (x265 is GPL; the installers ship
pi-heif, libheif without one), so the demo copies these files instead of writing them. Run
where pillow-heif and its encoder are installed (the development environment) whenever the
demo's photos change; tests/test_demo_heic.py checks the files still show what they should.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photosearch.samples.demo import DEMO_HEIC, DEMO_HEIC_COUNT, demo_heic_name, write_demo_heic


def main(count: int = DEMO_HEIC_COUNT) -> None:
    DEMO_HEIC.mkdir(parents=True, exist_ok=True)
    for old in DEMO_HEIC.glob("*.heic"):
        old.unlink()
    for i in range(count):
        path = write_demo_heic(i, DEMO_HEIC / demo_heic_name(i))
        print(f"{path.relative_to(DEMO_HEIC.parents[2])}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
