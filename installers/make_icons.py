"""Render the app's SVG icon into the formats Windows (.ico) and macOS (.icns) installers need.

    python installers/make_icons.py OUTPUT_FOLDER

Qt renders the SVG (the same renderer the window uses for it), Pillow writes the containers.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "photosearch" / "resources" / "icons" / "photosearch.svg"
SIZE = 1024


def render(size: int) -> bytes:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])  # Qt paints only with an application
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(SVG)).render(painter)
    painter.end()
    del app
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data().data())


def main(folder: Path) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    image = Image.open(io.BytesIO(render(SIZE))).convert("RGBA")
    image.save(folder / "photosearch.png")
    image.save(folder / "photosearch.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    image.save(folder / "photosearch.icns")
    print(f"make_icons: {', '.join(sorted(p.name for p in folder.iterdir()))} in {folder}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
