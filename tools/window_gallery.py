"""Screenshots of every surface of the window, to look at before a change lands.

    python tools/window_gallery.py OUT_DIR [--dark] [--scale 2] [--size 1600x1000]

Offscreen Qt (no display needed): makes the demo library in a temporary folder, opens the
window on it, searches, then saves the window, the preview, the settings, library and about
dialogs, the first-run page, an elided long notice, the Duplicates window (on duplicates
written beside the demo's photos) and results with duplicates folded as PNGs in OUT_DIR. `--dark` uses a dark
palette (as a dark desktop gives); `--scale` sets the device pixel ratio (HiDPI).
Open the PNGs: a test can check a layout, only a person sees that it looks right.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--dark", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--size", default="1600x1000")
    args = parser.parse_args()
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["QT_SCALE_FACTOR"] = str(args.scale)
    width, height = (int(n) for n in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="photosearch-gallery-") as work:
        return _gallery(Path(work), args.out, args.dark, width, height)


def _gallery(work: Path, out: Path, dark: bool, width: int, height: int) -> int:
    home, folder = work / "library", work / "photos"
    made = subprocess.run(
        [sys.executable, "-m", "photosearch", "demo", "--folder", str(folder), "--library", str(home)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        print(f"window_gallery: the demo library could not be made: {made.stderr.strip()[-300:]}", file=sys.stderr)
        return 1
    from datetime import datetime

    from photosearch.samples.duplicate_sets import write_burst, write_forms
    from photosearch.samples.scenes import scenes

    own = scenes(2, seed=6)  # duplicates for the Duplicates window: the worker indexes them as they arrive
    write_forms(own[0], folder / "duplicates", "harbour", datetime(2024, 8, 3, 18, 40))
    write_burst(own[1], folder / "duplicates" / "burst", "kite", datetime(2024, 8, 4, 11, 5), shots=4)
    from dataclasses import replace

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QWidget

    from photosearch.gui.about import AboutDialog
    from photosearch.gui.settings import SettingsDialog
    from photosearch.gui.window import MainWindow
    from photosearch.worker.protocol import WorkerSettings

    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")  # the same look on every machine, so a change shows as a change
    if dark:
        app.setPalette(_dark_palette())
    store = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(WorkerSettings(home=str(home), threads=1), store)
    window.resize(width, height)
    window.show()

    def wait(condition: object, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
            app.processEvents()
            time.sleep(0.01)
        for _ in range(20):
            app.processEvents()

    def save(widget: QWidget, name: str) -> None:
        if not widget.grab().save(str(out / f"{name}.png")):
            print(f"window_gallery: could not write {name}.png", file=sys.stderr)
        print(out / f"{name}.png")

    wait(lambda: window.status is not None)
    window.run_query("a red circle")
    wait(lambda: len(window.model.results) > 0 and window.loader.pixmap(int(window.model.results.ids[0])) is not None)
    save(window, "window-results")
    window.grid.setCurrentIndex(window.model.index(0))
    window.results_actions.show_preview(0)
    wait(lambda: window.preview.isVisible())
    save(window.preview, "preview")
    window.preview.close()
    ready = window.bridge.ready_event
    settings = SettingsDialog(
        window.preferences,
        list(ready.models) if ready else [],
        ("/photos/skip-this",),
        window,
        without_weights=ready.without_weights if ready else (),
        gpu=False,
    )
    settings.show()
    wait(lambda: settings.isVisible())
    save(settings, "settings")
    settings.close()
    window.refresh_status(counts_only=False)
    window.library_dialog.show()
    wait(lambda: window.library_dialog.isVisible())
    save(window.library_dialog, "library")
    window.library_dialog.close()
    about = AboutDialog(window)
    about.show()
    wait(lambda: about.isVisible())
    save(about, "about")
    about.close()
    window.show_notice("A notice far longer than the window is wide: " + "every word of it " * 40)
    wait(lambda: True, 0)
    save(window, "window-long-notice")
    window.empty.show_first_run()
    window.pages.setCurrentWidget(window.empty)
    wait(lambda: True, 0)
    save(window, "first-run")
    window.empty.show_missing_model("ViT-B-32", "this computer cannot reach the model hub; its weights file is …")
    save(window, "missing-model")
    window.pages.setCurrentWidget(window.grid)
    wait(lambda: window.status is not None and window.status.photos.pending == 0 and bool(window.status.duplicates), 120)
    window.show_duplicates()
    dialog = window.duplicates_window
    for index, name in enumerate(("duplicates-exact", "duplicates-same", "duplicates-bursts")):
        dialog.tabs.setCurrentIndex(index)
        wait(lambda: bool(dialog.groups) and bool(dialog._card_list), 30)
        wait(lambda: True, 0.5)
        save(dialog, name)
    dialog.close()
    window.apply_preferences(replace(window.preferences, fold_duplicates=True))
    window.search.clear_images(notify=False)
    window.search_similar(str(folder / "duplicates" / "harbour.jpg"))
    wait(lambda: len(window.model.results) > 0 and window.model.results.folded and window.model.results.folded[0] > 1, 30)
    wait(lambda: True, 1.0)
    save(window, "results-folded")
    window.close()
    return 0


def _dark_palette() -> object:
    """A dark desktop's palette (the offscreen platform has no colour scheme of its own)."""
    from PySide6.QtGui import QColor, QPalette

    palette = QPalette()
    roles = QPalette.ColorRole
    for role, colour in (
        (roles.Window, "#2b2b2b"),
        (roles.WindowText, "#e6e6e6"),
        (roles.Base, "#1e1e1e"),
        (roles.AlternateBase, "#2b2b2b"),
        (roles.Text, "#e6e6e6"),
        (roles.PlaceholderText, "#8a8a8a"),
        (roles.Button, "#353535"),
        (roles.ButtonText, "#e6e6e6"),
        (roles.Highlight, "#3d7bd6"),
        (roles.HighlightedText, "#ffffff"),
        (roles.ToolTipBase, "#353535"),
        (roles.ToolTipText, "#e6e6e6"),
        (roles.Link, "#7fb2ff"),
        (roles.Mid, "#4a4a4a"),
        (roles.Dark, "#151515"),
        (roles.Light, "#505050"),
    ):
        palette.setColor(role, QColor(colour))
    return palette


if __name__ == "__main__":
    sys.exit(main())
