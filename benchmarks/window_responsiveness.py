"""Does the window ever freeze? A 10 ms heartbeat in the GUI thread while it works hard.

    python benchmarks/window_responsiveness.py --photos 400 --results 100000 --json

In one run, on a real worker with the tiny model (offscreen Qt):
1. the worker indexes `--photos` new camera-like photos at full speed while
2. a `--results`-hit result set arrives as columns through a pickle (what the client's reader
   thread does) and is shown in the grid, which then scrolls from top to bottom, and
3. the user types queries key by key (the real debounce, the real worker answering).
The heartbeat's gaps (p50/p95/p99/max) are the freeze measure; keystroke → results painted is
timed for each settled query. Then, in fresh processes, the scripted window reports when it was
shown and when its first results were painted. Prints a JSON object with all of it.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from photosearch.core.library import Library
from photosearch.gui.window import MainWindow
from photosearch.records import SearchHit, SearchResults
from photosearch.samples import synthetic
from photosearch.worker.protocol import WorkerSettings

QUERIES = ("a red circle", "blue above yellow", "a green triangle -red", "white square")


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": round(statistics.median(ordered), 2), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 2)}


def _pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)


def _library(work: Path, seed_photos: int) -> Path:
    rng = random.Random(1)
    labels = synthetic.all_labels()
    for i in range(seed_photos):
        synthetic.write_photo(work / "photos" / f"seed-{i:04d}.jpg", labels[i % len(labels)], (640, 480), rng)
    with Library(work / "library", model="tiny-shapes", threads=1) as library:
        library.add_folder(work / "photos")
        library.index()
    return work / "library"


def _new_photos(folder: Path, count: int) -> None:
    rng = random.Random(2)
    labels = synthetic.all_labels()
    for i in range(count):
        synthetic.write_photo(folder / f"new-{i:05d}.jpg", labels[i % len(labels)], (1600, 1200), rng, grain=3.0)


def measure(work: Path, photos: int, results: int) -> dict[str, object]:
    home = _library(work, 120)
    incoming = work / "incoming"
    _new_photos(incoming, photos)
    app = QApplication.instance() or QApplication([])
    store = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    many = SearchResults.of(
        SearchHit(f"/nowhere/{i:06d}.jpg", 1 - i / results, 10_000_000 + i, 1.6e9 + i) for i in range(results)
    )
    blob = pickle.dumps(many, protocol=pickle.HIGHEST_PROTOCOL)  # made by the worker, not timed here
    del many
    window = MainWindow(WorkerSettings(home=str(home), model="tiny-shapes"), store)
    window.resize(1280, 860)
    window.show()
    while window.status is None:
        _pump(app, 0.05)

    beats: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        beats.append((now - last[0]) * 1000)
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    window.add_folder(str(incoming))  # the worker indexes these at full speed from now on
    _pump(app, 2.0)
    phases: dict[str, object] = {}

    # a huge result set, as the reader thread unpickles it and the GUI thread shows it
    start = len(beats)
    box: list[SearchResults] = []
    reader = threading.Thread(target=lambda: box.append(pickle.loads(blob)))
    reader.start()
    while reader.is_alive():
        _pump(app, 0.005)
    shown = time.perf_counter()
    window.model.set_results(box[0])
    window.pages.setCurrentWidget(window.grid)
    _pump(app, 0.3)
    phases["show_results_ms"] = round((time.perf_counter() - shown) * 1000 - 300, 1)
    bar = window.grid.verticalScrollBar()
    steps = 200
    for step in range(steps + 1):
        bar.setValue(bar.maximum() * step // steps)
        _pump(app, 0.01)
    phases["big_results_and_scroll"] = _percentiles(beats[start:])

    # typing, key by key, with the worker answering
    start = len(beats)
    latencies: list[float] = []
    for round_ in range(3):
        for query in QUERIES:
            window.search.edit.clear()
            _pump(app, 0.3)
            done = threading.Event()
            window.results_shown.connect(done.set)
            typed = time.perf_counter()
            for char in query:
                window.search.edit.insert(char)
                typed = time.perf_counter()
                _pump(app, 0.06)  # a fast typist
            while not done.is_set() and time.perf_counter() - typed < 30:
                _pump(app, 0.002)
            window.grid.viewport().repaint()
            latencies.append((time.perf_counter() - typed) * 1000)
            window.results_shown.disconnect(done.set)
        del round_
    phases["typing"] = _percentiles(beats[start:])
    phases["last_key_to_results_painted_ms"] = _percentiles(latencies)
    phases["indexing_during_run"] = window.state_label.text()
    heartbeat.stop()
    phases["all_beats"] = _percentiles(beats)
    window.close()
    return phases


def startup(home: Path, runs: int) -> dict[str, object]:
    shown, first = [], []
    for _ in range(runs):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "photosearch",
                "gui",
                "--library",
                str(home),
                "--query",
                "a red circle",
                "--quit-after-results",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )
        report = json.loads(out.stdout.strip().splitlines()[-1])
        shown.append(report["window_shown_ms"])
        first.append(report["first_results_ms"])
    return {"window_shown_ms": _percentiles(shown), "first_results_ms": _percentiles(first), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=400, help="new photos the worker indexes during the run")
    parser.add_argument("--results", type=int, default=100_000, help="size of the result set shown and scrolled")
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        os.environ["XDG_CONFIG_HOME"] = str(work / "config")
        result = measure(work, args.photos, args.results)
        result["startup"] = startup(work / "library", args.startup_runs)
        result["cpus"] = os.cpu_count()
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
