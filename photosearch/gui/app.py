"""`photosearch gui`: open the window, and (for checks, docs and installers) script it.

    photosearch gui [--library DIR] [--query TEXT] [--similar IMAGE]
                    [--screenshot FILE] [--quit-after-results] [--open-first] [--demo] [IMAGE ...]

Images named on the command line (what a desktop's "Open with photosearch" passes) and files
macOS hands over in a FileOpen event are searched for as if they had been dropped.

With `--quit-after-results` it runs the query (`--similar` through the same code as a drop),
waits until the visible thumbnails are painted, saves the screenshot, prints one JSON line
(results in grid order, thumbnails painted, when the window was shown and the first results
painted, in ms from start) and exits 0; non-zero with a one-line reason on failure. With
`--open-first` it then opens the first result in the system's viewer, as Enter does (the
installers check what that viewer inherits).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

START = time.perf_counter()

SCRIPT_TIMEOUT_S = 180.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="photosearch gui", description="Open the photosearch window.")
    parser.add_argument("--library", metavar="DIR", help="library folder (default: the last one opened, or the user data dir)")
    parser.add_argument("--model", metavar="NAME", help="model for this session (default: the library's)")
    parser.add_argument("--query", metavar="TEXT", help="search for TEXT once the worker is ready")
    parser.add_argument("--similar", metavar="IMAGE", help="search for photos like IMAGE (as if it were dropped)")
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="photos to find others like (the desktop's 'Open with')")
    parser.add_argument("--screenshot", metavar="FILE", help="save a PNG of the window once the results are painted")
    parser.add_argument(
        "--quit-after-results", action="store_true", help="exit after the first results (prints a JSON line; for scripts)"
    )
    parser.add_argument(
        "--open-first", action="store_true", help="with --quit-after-results: open the first result in the system viewer first"
    )
    parser.add_argument("--demo", action="store_true", help="open the demo library (made first if missing; tiny model, offline)")
    return parser


def has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: Sequence[str] = ()) -> int:
    args = build_parser().parse_args(list(argv))
    if not has_display():
        if args.demo or not (args.query or args.similar or args.screenshot or args.images):
            print("photosearch: no display here, so no window: running the terminal demo instead", file=sys.stderr)
            import subprocess

            from .library_actions import self_command

            program, arguments = self_command("demo")
            return subprocess.call([program, *arguments])
        print("photosearch gui: no display (set DISPLAY, or QT_QPA_PLATFORM=offscreen)", file=sys.stderr)
        return 1
    from photosearch.logs import setup_logging

    from .platform_choice import NoUsableDisplay, bundled_platform, platform_for

    try:
        platform = platform_for(os.environ, bundled_platform)
    except NoUsableDisplay as exc:
        print(f"photosearch: {exc}", file=sys.stderr)
        return 1
    if platform is not None:
        os.environ["QT_QPA_PLATFORM"] = platform
    setup_logging("photosearch")
    return _run_window(args)


def _run_window(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from photosearch.places import demo_library
    from photosearch.worker.protocol import WorkerSettings

    from .about import app_icon
    from .file_open import FileOpenEvents
    from .window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("photosearch")
    app.setOrganizationName("photosearch")
    app.setApplicationDisplayName("photosearch")
    app.setWindowIcon(app_icon())
    from .launch_environment import restore_for_programs_started

    restore_for_programs_started()
    opened = FileOpenEvents(app)
    store = QSettings()
    home = args.library
    if args.demo:
        home = str(demo_library())
    elif not home:
        remembered = store.value("library/home")
        home = remembered if isinstance(remembered, str) and remembered else None
    # a window searches a library it cannot write (another process indexing it, a read-only drive)
    settings = WorkerSettings(home=str(Path(home).expanduser()) if home else None, model=args.model, search_only_ok=True)
    images = [str(Path(i).expanduser().resolve()) for i in [*args.images, *([args.similar] if args.similar else [])]]
    from .single_instance import InstanceServer, hand_over, server_name

    scripted = bool(args.quit_after_results or args.screenshot)
    name = server_name(settings.home)
    if not scripted and hand_over(name, images, args.query):
        print("photosearch: the window on this library is open: the photos and words went to it", file=sys.stderr)
        return 0
    demo_missing = bool(args.demo and not (demo_library() / "catalog.sqlite3").is_file())
    window = MainWindow(settings, store, start_worker=not demo_missing)
    from .crash_log import install

    install(window.show_notice)
    _close_on_terminate(window)
    window.show()
    shown_ms = (time.perf_counter() - START) * 1000
    shown_at_ms = time.time() * 1000  # wall clock: an outside timer measures start-up from the launch
    if demo_missing:
        window.open_demo()
    # The search is set up at once; the window sends it when its worker is ready (and again
    # after a restart). Photos become chips, as if dropped; words join them.
    opened.deliver_to(window.search_similar)
    if not scripted:
        server = InstanceServer(name, window.take_over_launch, window)
        window.library_switched.connect(lambda home: server.listen_for(server_name(home)))
    for image in images:
        window.search_similar(image)
    if args.query:
        window.run_query(args.query)
    script = _Script(window, args, shown_ms, shown_at_ms) if (args.quit_after_results or args.screenshot) else None
    if script is not None and args.quit_after_results:
        QTimer.singleShot(int(SCRIPT_TIMEOUT_S * 1000), lambda: script.fail("no results within the time limit"))
    code = app.exec()
    if script is not None and script.code is not None:
        return script.code
    return code


def _close_on_terminate(window: object) -> None:
    """SIGTERM (a logout, `kill`) closes the window as its close button does: settings saved,
    the worker finishing its batch. Python sees the signal only when it runs, so a timer wakes it."""
    import signal

    from PySide6.QtCore import QTimer

    from .window import MainWindow

    assert isinstance(window, MainWindow)
    signal.signal(signal.SIGTERM, lambda *_: QTimer.singleShot(0, window.close))
    ticker = QTimer(window)
    ticker.timeout.connect(lambda: None)
    ticker.start(250)
    window.destroyed.connect(ticker.stop)


class _Script:
    """Waits for results and their painted thumbnails, then screenshots, reports and quits."""

    def __init__(self, window: object, args: argparse.Namespace, shown_ms: float, shown_at_ms: float) -> None:
        from PySide6.QtCore import QTimer

        from .window import MainWindow

        assert isinstance(window, MainWindow)
        self.window = window
        self.args = args
        self.shown_ms = shown_ms
        self.shown_at_ms = shown_at_ms
        self.first_results_ms: float | None = None
        self.code: int | None = None
        self.timer = QTimer(window)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self._check)
        window.results_shown.connect(self._results)
        window.search_failed.connect(self.fail)
        window.bridge.exited.connect(lambda event: None if event.restarting else self.fail(event.message))

    def _results(self) -> None:
        if self.first_results_ms is None:
            self.first_results_ms = (time.perf_counter() - START) * 1000
        self.timer.start()

    def _painted(self) -> tuple[bool, int, int]:
        """Whether every visible cell has its thumbnail (or has none to get), how many do, and
        the largest thumbnail's long side in device pixels (sharp on HiDPI: cell × ratio)."""
        window = self.window
        painted = largest = 0
        for row in window.grid.visible_rows():
            position = window.model.order[row]
            photo = int(window.model.results.ids[position])
            pixmap = window.model.thumbnail(position)
            if pixmap is not None:
                painted += 1
                largest = max(largest, pixmap.width(), pixmap.height())
            elif not window.loader.is_absent(photo):
                return False, painted, largest
        return True, painted, largest

    def _check(self) -> None:
        done, painted, largest = self._painted()
        if not done:
            return
        self.timer.stop()
        window = self.window
        window.grid.viewport().repaint()
        if self.args.screenshot:
            image = window.grab()
            if not image.save(self.args.screenshot, "PNG"):
                self.fail(f"cannot write the screenshot {self.args.screenshot}")
                return
        report = {
            "results": window.model.paths(0, 50),
            "thumbnails_painted": painted,
            "cells_visible": len(window.grid.visible_rows()),
            "window_shown_ms": round(self.shown_ms, 1),
            "window_shown_at_ms": round(self.shown_at_ms),
            "first_results_ms": round(self.first_results_ms or 0.0, 1),
            "device_pixel_ratio": window.devicePixelRatioF(),
            "thumbnail_px": largest,
        }
        if self.args.open_first and window.model.rowCount():
            window.grid.setCurrentIndex(window.model.index(0))
            window.results_actions.open([0])
            report["opened"] = window.model.path(0)
        print(json.dumps(report), flush=True)
        if self.args.quit_after_results:
            self._quit(0)

    def fail(self, reason: str) -> None:
        if self.code is not None:
            return
        print(f"photosearch gui: {reason}", file=sys.stderr, flush=True)
        self._quit(1)

    def _quit(self, code: int) -> None:
        self.code = code
        self.timer.stop()
        self.window.close()
        from PySide6.QtWidgets import QApplication

        QApplication.quit()
