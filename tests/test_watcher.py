"""The watcher's parts without a worker: debounce and coalescing, lost-event detection, scoped sync."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from worker_helpers import make_photo

from photosearch.core.catalog import Catalog
from photosearch.core.scan import sync_library, sync_paths
from photosearch.worker.watcher import ChangeCollector, FolderWatcher


def test_collector_releases_a_burst_once_it_goes_quiet() -> None:
    collector = ChangeCollector(quiet_s=0.3, max_wait_s=5.0)
    for i in range(2000):  # a camera import
        collector.add([f"/photos/IMG_{i}.jpg", "/photos"])
    assert collector.take() == set()  # still noisy
    assert len(collector) == 2001 and collector.events == 4000
    time.sleep(0.35)
    batch = collector.take()
    assert len(batch) == 2001 and len(collector) == 0


def test_collector_never_waits_longer_than_max_wait_under_constant_events() -> None:
    collector = ChangeCollector(quiet_s=0.3, max_wait_s=0.6)
    started = time.monotonic()
    taken: set[str] = set()
    while not taken and time.monotonic() - started < 3:
        collector.add([f"/p/{time.monotonic()}.jpg"])
        time.sleep(0.05)
        taken = collector.take()
    assert taken and time.monotonic() - started < 1.2


def test_collector_holds_deferred_paths_until_their_time() -> None:
    collector = ChangeCollector(quiet_s=0.0, max_wait_s=0.0)
    collector.add(["/p/growing.jpg"], not_before=time.monotonic() + 0.4)
    collector.add(["/p/done.jpg"])
    assert collector.take() == {"/p/done.jpg"}
    assert collector.take() == set()
    time.sleep(0.45)
    assert collector.take() == {"/p/growing.jpg"}


def test_a_queue_overflow_reported_by_watchdog_asks_for_a_full_scan(tmp_path: Path) -> None:
    problems: list[tuple[str, str]] = []
    watcher = FolderWatcher(ChangeCollector(), lambda folder, message: problems.append((folder, message)))
    watcher.start()
    try:
        assert watcher.watch(str(tmp_path)) and watcher.healthy()
        logging.getLogger("watchdog.observers.inotify_c").warning("Inotify queue overflowed; filesystem events were lost")
        assert problems == [("", "the filesystem event queue overflowed")]
        assert not watcher.watch(str(tmp_path / "missing"))  # cannot watch: reported, not raised
        assert problems[-1][0] == str(tmp_path / "missing")
    finally:
        watcher.stop()


def test_sync_paths_touches_only_the_named_paths(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    a, b = make_photo(folder / "a.jpg", 0), make_photo(folder / "sub" / "b.jpg", 1)
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    catalog.add_folder(str(folder))
    sync_library(catalog)
    c = make_photo(folder / "sub" / "c.jpg", 2)
    a.unlink()  # not named below: stays in the catalog until a full scan
    old = time.time() - 10
    for settled in (b, c):
        os.utime(settled, (old, old))
    report, deferred = sync_paths(catalog, [str(folder / "sub"), str(folder / "sub" / "c.jpg")], settle_s=1.0)
    assert (report.new, report.removed, deferred) == (1, 0, set())
    assert set(catalog.photos_in_folder(1)) == {str(a), str(b), str(c)}
    growing = make_photo(folder / "sub" / "growing.jpg", 3)  # just written: left to settle
    report, deferred = sync_paths(catalog, [str(growing), str(a), "/somewhere/else.jpg"], settle_s=1.0)
    assert deferred == {str(growing), str(a)}  # a vanished photo waits with it (it may be a move)
    assert report.new == report.removed == 0
    report, deferred = sync_paths(catalog, [str(growing), str(a)], settle_s=0.0)
    assert (report.new, report.removed, deferred) == (1, 1, set())
    catalog.close()
