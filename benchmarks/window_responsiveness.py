"""Does the window ever freeze? A 10 ms heartbeat in the GUI thread while it works hard.

    python benchmarks/window_responsiveness.py --photos 400 --results 100000 --json
    python benchmarks/window_responsiveness.py --library /tmp/status-bench/home \
        --model ViT-B-32-256 --photos 150 --results 100000 --json     # a 100,000-photo library

In one run, on a real worker (offscreen Qt), with the tiny model on a small generated library,
or with `--library` on a copy of an existing one (query_under_load.py --work DIR builds a
100,000-photo library in DIR/home) and a real architecture with random weights:
1. the worker indexes `--photos` new camera-like photos at full speed while
2. a `--results`-hit result set is shown in the grid, which then scrolls top to bottom: a real
   search through the worker when the library holds that many photos, else a synthetic set
   that arrives as columns through a pickle (what the client's reader thread does), and
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
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from photosearch.core.library import Library
from photosearch.gui.session import Query
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


def _search_now(app: QApplication, window: MainWindow, text: str, k: int) -> float:
    """Send one search as the window does, wait until its results are shown; milliseconds."""
    done = threading.Event()
    window.results_shown.connect(done.set)
    asked = time.perf_counter()
    window.search_for(Query(text, (), window.current_filter()), k)
    while not done.is_set():
        _pump(app, 0.002)
    window.results_shown.disconnect(done.set)
    return (time.perf_counter() - asked) * 1000


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


def measure(work: Path, photos: int, results: int, library: Path | None, model: str) -> dict[str, object]:
    if library is not None:
        home = work / "library"
        shutil.copytree(library, home, ignore=shutil.ignore_patterns("writer.lock"))
    else:
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
    settings = WorkerSettings(home=str(home), model=model, random_weights=model != "tiny-shapes")
    created = time.perf_counter()
    window = MainWindow(settings, store)
    window.resize(1280, 860)
    window.show()
    app.processEvents()
    shown_ms = (time.perf_counter() - created) * 1000
    while window.status is None:
        _pump(app, 0.01)
    status_ms = (time.perf_counter() - created) * 1000
    _search_now(app, window, "a dog", 1000)  # the first search waits for the worker's model
    first_ms = (time.perf_counter() - created) * 1000

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
    phases: dict[str, object] = {
        "in_process": {
            "window_shown_ms": round(shown_ms, 1),
            "first_status_ms": round(status_ms, 1),
            "first_search_answered_ms": round(first_ms, 1),
        }
    }

    # a huge result set: a real search through the worker, or as the reader thread unpickles it
    start = len(beats)
    assert window.status is not None
    if window.status.photos.indexed >= results:
        # the huge result set, as scrolling to the end asks for it
        phases["big_search_round_trip_ms"] = round(_search_now(app, window, "people at the beach", results), 1)
        phases["big_search_results"] = len(window.model.results)
    else:
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

            def answered(query: str = query, done: threading.Event = done) -> None:
                if window.session.query is not None and window.session.query.text == query:  # not a prefix's answer
                    done.set()

            window.results_shown.connect(answered)
            typed = time.perf_counter()
            for char in query:
                window.search.edit.insert(char)
                typed = time.perf_counter()
                _pump(app, 0.06)  # a fast typist
            while not done.is_set() and time.perf_counter() - typed < 30:
                _pump(app, 0.002)
            window.grid.viewport().repaint()
            latencies.append((time.perf_counter() - typed) * 1000)
            window.results_shown.disconnect(answered)
        del round_
    phases["typing"] = _percentiles(beats[start:])
    phases["last_key_to_results_painted_ms"] = _percentiles(latencies)
    phases["indexing_during_run"] = window.state_label.text()
    phases["model"] = model
    phases["library_photos"] = window.status.photos.indexed if window.status else None
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
    parser.add_argument("--library", type=Path, default=None, help="an existing library to copy and use (see above)")
    parser.add_argument("--model", default="tiny-shapes", help="tiny-shapes, or a real architecture with random weights")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        os.environ["XDG_CONFIG_HOME"] = str(work / "config")
        result = measure(work, args.photos, args.results, args.library, args.model)
        if args.library is None:  # the scripted window needs a model it can load: the tiny one
            result["startup"] = startup(work / "library", args.startup_runs)
        result["cpus"] = os.cpu_count()
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
