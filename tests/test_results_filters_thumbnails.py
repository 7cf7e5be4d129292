"""What the worker gives a window: hits as columns with their details, filters by folder and date,
exact search for large result sets, thumbnails made while indexing, model downloads."""

from __future__ import annotations

import http.server
import os
import pickle
import random
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from conftest import small_disk, write_shapes
from PIL import Image

from photosearch.core.images import load_for_model
from photosearch.core.index.vectors import EXACT_RESULTS_FROM, EXACT_SEARCH_LIMIT, VectorIndex
from photosearch.core.library import Library, LibraryError, download_model
from photosearch.core.models import download
from photosearch.core.models.download import DownloadCancelled
from photosearch.core.models.registry import ModelUnavailable, cached_weights, get_model
from photosearch.core.query import QueryError, QuerySyntaxError
from photosearch.records import DownloadProgress, SearchFilter, SearchHit, SearchResults
from photosearch.samples import synthetic

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model

RED_CIRCLE = synthetic.ShapeLabel("red", "circle")
BLUE_SQUARE = synthetic.ShapeLabel("blue", "square")
RED_ABOVE_BLUE = synthetic.LayoutLabel("red", "blue", "vertical")


def _photo(path: Path, label: synthetic.Label, taken: str = "2024:06:01 12:00:00", orientation: int = 1) -> Path:
    return synthetic.write_photo(path, label, (480, 360), random.Random(hash(path.name) % 1000), orientation, taken)


@pytest.fixture
def dated_library(tmp_path: Path) -> Iterator[tuple[Library, Path]]:
    """Red circles and blue squares in two folders, taken in 2019, 2022 and 2024."""
    photos = tmp_path / "photos"
    for i, year in enumerate((2019, 2022, 2024)):
        _photo(photos / "trips" / f"red-{year}.jpg", RED_CIRCLE, f"{year}:0{i + 3}:10 09:30:00")
        _photo(photos / "home" / f"red-{year}.jpg", RED_CIRCLE, f"{year}:0{i + 3}:11 10:00:00")
        _photo(photos / "home" / f"blue-{year}.jpg", BLUE_SQUARE, f"{year}:0{i + 3}:12 11:00:00")
    library = Library(tmp_path / "library", model="tiny-shapes", threads=2)
    library.add_folder(photos)
    library.index()
    yield library, photos
    library.close()


def _rgb(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    pixel = image.getpixel((x, y))
    assert isinstance(pixel, tuple) and len(pixel) == 3, pixel
    return pixel[0], pixel[1], pixel[2]


def test_hits_carry_id_path_score_date_size_and_travel_as_columns(dated_library: tuple[Library, Path]) -> None:
    library, _ = dated_library
    results = library.search("a red circle", k=20)
    assert isinstance(results, SearchResults) and len(results) == 9
    top = results[0]
    assert isinstance(top, SearchHit) and "red-" in top.path
    assert (top.width, top.height) == (480, 360) and top.size == Path(top.path).stat().st_size and top.id > 0
    assert top.taken is not None  # wall-clock seconds of the EXIF time
    scores = list(results.scores)
    assert scores == sorted(scores, reverse=True)
    # 100,000 hits cross the pipe as seven flat columns (one string per path, no object per hit)
    many = SearchResults.of(SearchHit(f"/p/{i}.jpg", 0.5, i, 1.0e9, 4000, 3000, 3_000_000) for i in range(100_000))
    blob = pickle.dumps(many, protocol=pickle.HIGHEST_PROTOCOL)
    assert pickle.loads(blob) == many and b"SearchHit" not in blob
    assert len(blob) < 100_000 * (36 + 20)


def test_filters_by_folder_and_date(dated_library: tuple[Library, Path]) -> None:
    library, photos = dated_library
    home = str(photos / "home")
    in_home = library.search("a red circle", k=20, where=SearchFilter(folders=(home,)))
    assert len(in_home) == 6 and all(p.startswith(os.path.join(home, "")) for p in in_home.paths)
    dated = library.search("a red circle", k=20, where=SearchFilter(after="2022", before="2022-12"))
    assert sorted(Path(p).name for p in dated.paths) == ["blue-2022.jpg", "red-2022.jpg", "red-2022.jpg"]
    day = library.search("red", k=20, where=SearchFilter(folders=(home,), after="2024-05-11", before="2024-05-11"))
    assert [Path(p).name for p in day.paths] == ["red-2024.jpg"]
    similar = library.similar(photos / "trips" / "red-2019.jpg", k=20, where=SearchFilter(folders=(home,)))
    assert similar.paths and all(p.startswith(home) for p in similar.paths)
    with pytest.raises(QuerySyntaxError, match="not a date"):
        library.search("red", where=SearchFilter(after="last tuesday"))
    with pytest.raises(QuerySyntaxError, match="no date is after"):
        library.search("red", where=SearchFilter(after="2024", before="2020"))
    # a folder outside the library is said to be so, not answered with nothing
    with pytest.raises(QueryError, match="is not in the library"):
        library.search("red", where=SearchFilter(folders=("/etc",)))
    above = library.search("red", k=20, where=SearchFilter(folders=(str(photos.parent),)))  # one that holds it is fine
    assert len(above) == 9


def test_excluded_folders_leave_the_library_and_come_back(dated_library: tuple[Library, Path]) -> None:
    library, photos = dated_library
    trips = photos / "trips"
    with pytest.raises(LibraryError, match="remove it instead"):
        library.set_excluded([photos])
    with pytest.raises(LibraryError, match="not inside a library folder"):
        library.set_excluded([photos.parent])
    assert library.set_excluded([trips]) == (str(trips),)
    report = library.reconcile()
    assert report.removed == 3 and library.status().excluded == (str(trips),)
    found = library.search("a red circle", k=20)
    assert len(found) == 6 and not any("/trips/" in p for p in found.paths)
    # a watcher's event from inside an excluded folder brings nothing in
    _photo(trips / "new-red.jpg", RED_CIRCLE)
    library.sync_paths([str(trips / "new-red.jpg"), str(trips)])
    assert library.status().photos.pending == 0
    library.set_excluded([])
    assert library.reconcile().new == 4  # the three that left, and the one added meanwhile
    library.prepare_indexing()
    library.run_indexing()
    assert len(library.search("a red circle", k=20)) == 10


def test_a_removed_folder_takes_its_exclusions_with_it(dated_library: tuple[Library, Path], tmp_path: Path) -> None:
    """Its exclusions stayed behind, and every later `exclude` (even `--remove`) failed on them."""
    library, photos = dated_library
    library.set_excluded([photos / "trips"])
    library.remove_folder(photos)
    assert library.status().excluded == ()
    other = tmp_path / "other"
    _photo(other / "sub" / "a.jpg", RED_CIRCLE)
    library.add_folder(other)
    assert library.set_excluded([other / "sub"]) == (str(other / "sub"),)
    library.catalog.set_excluded({str(photos / "trips"), str(other / "sub")})  # as an older release left it
    assert library.set_excluded([library.excluded_path(p) for p in library.status().excluded]) == (str(other / "sub"),)


def test_an_excluded_photo_stays_out_in_full_scans_and_in_the_watchers_syncs(dated_library: tuple[Library, Path]) -> None:
    """Excluding one photo was taken, then a full scan brought it back and a watcher's event took
    it out again: the photo flipped in and out."""
    library, photos = dated_library
    one = photos / "home" / "red-2022.jpg"
    library.set_excluded([one])
    assert library.reconcile().removed == 1
    for _ in range(2):
        assert library.reconcile().new == 0, "a full scan leaves it out"
        library.sync_paths([str(one), str(one.parent)])
        assert str(one) not in library.catalog.indexed_paths() and library.status().photos.pending == 0
    assert len(library.search("a red circle", k=20)) == 8


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")
def test_a_linked_subfolder_that_points_outside_can_be_excluded(dated_library: tuple[Library, Path], tmp_path: Path) -> None:
    library, photos = dated_library
    elsewhere = tmp_path / "elsewhere"
    _photo(elsewhere / "linked-red.jpg", RED_CIRCLE)
    (photos / "linked").symlink_to(elsewhere, target_is_directory=True)
    assert library.reconcile().new == 1
    assert library.set_excluded([photos / "linked"]) == (str(photos / "linked"),)
    assert library.reconcile().removed == 1
    library.sync_paths([str(photos / "linked" / "linked-red.jpg")])
    assert library.status().photos.pending == 0
    base = [sys.executable, "-m", "photosearch", "--library", str(library.home)]
    library.close()
    back = subprocess.run([*base, "exclude", "--remove", str(photos / "linked")], capture_output=True, text=True)
    assert back.returncode == 0 and "1 came back" in back.stderr, back.stderr


def test_the_cli_excludes_and_lists(dated_library: tuple[Library, Path]) -> None:
    library, photos = dated_library
    home = library.home
    library.close()
    base = [sys.executable, "-m", "photosearch", "--library", str(home)]
    out = subprocess.run([*base, "exclude", str(photos / "home")], capture_output=True, text=True)
    assert out.returncode == 0 and "6 photos left it" in out.stderr and out.stdout.strip() == str(photos / "home")
    listed = subprocess.run([*base, "status"], capture_output=True, text=True)
    assert f"excluded: {photos / 'home'}" in listed.stdout and "3 indexed" in listed.stdout
    back = subprocess.run([*base, "exclude", "--remove", str(photos / "home")], capture_output=True, text=True)
    assert back.returncode == 0 and "6 came back" in back.stderr and back.stdout.strip() == ""


def test_dates_far_back_or_far_ahead_filter_as_dates_not_as_text(dated_library: tuple[Library, Path]) -> None:
    """Years before 1000 compare as dates (a string compare put '500-…' after '2024-…'), the last
    year there is works as a bound, and only real dates are taken."""
    library, _ = dated_library
    assert len(library.search("a red circle", k=20, where=SearchFilter(after="0500"))) == 9
    assert len(library.search("a red circle", k=20, where=SearchFilter(before="0500"))) == 0
    for last in ("9999", "9999-12", "9999-12-31", "9999-12-31 23:59"):
        assert len(library.search("a red circle", k=20, where=SearchFilter(after="2024", before=last))) == 3
    assert len(library.search("a red circle", k=20, where=SearchFilter(after="9999-12-31 23:59"))) == 0
    for nonsense in ("0000", "2024-00", "2024-06-00", "2024-13", "2024-02-30", "", "   "):
        with pytest.raises(QuerySyntaxError, match="not a date"):
            library.search("red", where=SearchFilter(after=nonsense))


def test_an_exif_date_of_zeros_is_no_date_and_the_file_time_counts(tmp_path: Path) -> None:
    """A camera whose clock was never set writes 0000:00:00 00:00:00."""
    path = _photo(tmp_path / "unset-clock.jpg", RED_CIRCLE, "0000:00:00 00:00:00")
    _, info = load_for_model(path, 64)
    assert info.taken is None
    _, real = load_for_model(_photo(tmp_path / "set-clock.jpg", RED_CIRCLE, "2023:07:14 18:30:05"), 64)
    assert real.taken == "2023-07-14 18:30:05"


def test_cli_takes_the_same_filters(dated_library: tuple[Library, Path]) -> None:
    import json

    library, photos = dated_library
    home = library.home
    library.close()
    command = [sys.executable, "-m", "photosearch", "--library", str(home), "search", "a red circle", "--json"]
    out = subprocess.run([*command, "--folder", str(photos / "trips"), "--after", "2020"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert sorted(Path(r["path"]).name for r in rows) == ["red-2022.jpg", "red-2024.jpg"]
    assert {"id", "taken", "width", "height", "size"} <= set(rows[0]) and rows[0]["taken"].startswith("202")
    bad = subprocess.run([*command, "--before", "June"], capture_output=True, text=True)
    assert bad.returncode == 2 and "not a date" in bad.stderr
    version = subprocess.run([sys.executable, "-m", "photosearch", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("photosearch ")


def test_large_result_sets_are_exact_and_the_mirror_follows_changes() -> None:
    rng = np.random.default_rng(3)
    data = rng.normal(size=(EXACT_SEARCH_LIMIT + 3000, 24)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    index = VectorIndex(24, capacity=len(data))
    index.add(np.arange(len(data)), data)
    query = data[7]
    k = EXACT_RESULTS_FROM + 500

    def same_as_exact(labels: np.ndarray, scores: np.ndarray, live: np.ndarray) -> bool:
        truth = np.sort(data[live] @ query)[::-1][:k]
        return len(labels) == k and np.allclose(scores, truth, atol=1e-5) and np.allclose(data[labels] @ query, scores, atol=1e-5)

    labels, scores = index.search(query, k)
    assert same_as_exact(labels, scores, np.arange(len(data)))
    index.remove(np.arange(0, 400))
    extra = rng.normal(size=(50, 24)).astype(np.float32)
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    data = np.vstack([data, extra])
    index.add(np.arange(len(data) - 50, len(data)), extra)
    labels, scores = index.search(query, k)
    assert same_as_exact(labels, scores, np.arange(400, len(data))) and labels.min() >= 400
    subset = np.arange(1000, 1300)
    labels, _ = index.search(query, 20, allowed=subset)
    assert set(labels.tolist()) <= set(subset.tolist()) and len(labels) == 20


def test_indexing_writes_upright_thumbnails_for_every_format(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    rotated = _photo(photos / "rotated.jpg", RED_ABOVE_BLUE, orientation=6)
    heic = synthetic.write_photo(photos / "phone.heic", RED_CIRCLE, (640, 480), random.Random(1))
    png = synthetic.write_photo(photos / "screen.png", BLUE_SQUARE, (300, 200), random.Random(2))
    with Library(tmp_path / "library", model="tiny-shapes", threads=2) as library:
        library.add_folder(photos)
        library.index()
        ids = {Path(h.path).name: h.id for h in library.search("red", k=10)}
        for name in (rotated.name, heic.name, png.name):
            thumb = library.thumbnails.path(ids[name])
            with Image.open(thumb) as image:
                assert image.format == "JPEG" and max(image.size) <= 320
        with Image.open(library.thumbnails.path(ids["rotated.jpg"])) as image:
            assert image.width > image.height  # displayed 480×360: stored sideways, thumbnailed upright
            rgb = image.convert("RGB")
            middle = image.width // 2
            top, bottom = _rgb(rgb, middle, image.height // 4), _rgb(rgb, middle, 3 * image.height // 4)
        assert top[0] > 150 and top[2] < 100, top  # red above…
        assert bottom[2] > 150 and bottom[0] < 100, bottom  # …blue, as the photo displays


def test_a_thumbnail_that_cannot_be_written_leaves_nothing_behind(tmp_path: Path) -> None:
    """On a full disk the staged file is removed, not left to fill the disk further."""
    from photosearch.core.thumbnails import ThumbnailStore

    with small_disk(tmp_path / "disk", "64k") as disk:
        store = ThumbnailStore(disk / "thumbnails")
        with pytest.raises(OSError):
            store.write(7, os.urandom(256 * 1024))
        assert [p.name for p in disk.rglob("*") if p.is_file()] == []


def test_thumbnails_follow_their_photos_and_are_made_again(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    paths = write_shapes(photos, [RED_CIRCLE, BLUE_SQUARE, RED_ABOVE_BLUE], seed=4)
    with Library(tmp_path / "library", model="tiny-shapes", threads=2) as library:
        library.add_folder(photos)
        library.index()
        by_name = {Path(h.path).name: h.id for h in library.search("red", k=10)}
        gone = by_name[paths[0].name]
        assert library.thumbnails.has(gone)
        paths[0].unlink()
        library.reconcile()
        assert not library.thumbnails.has(gone)  # removed with its photo
        kept = by_name[paths[1].name]
        library.thumbnails.path(kept).unlink()  # the window finds it missing…
        library.remake_thumbnails([kept])
        assert library.make_thumbnails() == ([kept], 1) and library.thumbnails.has(kept)  # …and the worker makes it again
        # a library indexed before thumbnails existed gets them in the background
        db = sqlite3.connect(library.home / "catalog.sqlite3")
        db.execute("UPDATE photos SET thumbnail=0")
        db.commit()
        db.close()
        for photo_id in by_name.values():
            library.thumbnails.path(photo_id).unlink(missing_ok=True)
        assert library.make_thumbnails(limit=100)[1] == 2
        assert all(library.thumbnails.has(by_name[p.name]) for p in paths[1:])


# -- model download ---------------------------------------------------------------------------------


def _safetensors(megabytes: int) -> bytes:
    """A real (tiny-architecture-free) safetensors file of about that size."""
    from safetensors.numpy import save

    return save({"weight": np.arange(megabytes * 262_144, dtype=np.float32)})


class _Weights(http.server.BaseHTTPRequestHandler):
    payload = _safetensors(2)
    served: ClassVar[list[str]] = []
    revision: ClassVar[str] = "abc123"

    def do_GET(self) -> None:
        self.served.append(self.path)
        if not self.path.endswith("/open_clip_model.safetensors"):
            self.send_error(404)
            return
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].rstrip("-"))
            self.send_response(206)
        else:
            self.send_response(200)
        body = self.payload[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Repo-Commit", self.revision)
        self.end_headers()
        for offset in range(0, len(body), 65536):
            self.wfile.write(body[offset : offset + 65536])

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Weights)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    yield endpoint
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_download_reports_progress_can_be_cancelled_and_resumes(hub: str, tmp_path: Path) -> None:
    cancel = threading.Event()
    seen: list[DownloadProgress] = []

    def progress(p: DownloadProgress) -> None:
        seen.append(p)
        cancel.set()  # cancel after the first report

    original = download.REPORT_EVERY_S
    download.REPORT_EVERY_S = 0.0
    try:
        with pytest.raises(DownloadCancelled):
            download_model("ViT-B-32", tmp_path / "library", on_progress=progress, cancel=cancel)
        assert cached_weights(get_model("ViT-B-32")) is None  # nothing that looks like weights
        seen.clear()
        path = download_model("ViT-B-32", tmp_path / "library", on_progress=seen.append)
    finally:
        download.REPORT_EVERY_S = original
    assert path.read_bytes() == _Weights.payload
    assert cached_weights(get_model("ViT-B-32")) == path
    assert seen[-1].done == seen[-1].total == len(_Weights.payload) and seen[-1].rate > 0
    assert seen[0].done > 0  # the second attempt resumed the part kept from the first


def test_the_hub_is_not_trusted_with_names_or_contents(hub: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A revision that is a path would write outside the cache; a file that is not weights,
    sent without a checksum, would be installed and listed as downloaded."""
    cache = Path(os.environ["PHOTOSEARCH_MODEL_CACHE"])
    monkeypatch.setattr(_Weights, "revision", "../../../../escaped")
    with pytest.raises(ModelUnavailable, match="not a plain name"):
        download_model("ViT-B-32", tmp_path / "library")
    assert not list(tmp_path.rglob("escaped")) and not list(cache.parent.rglob("escaped"))
    monkeypatch.setattr(_Weights, "revision", "abc123")
    monkeypatch.setattr(_Weights, "payload", bytes(range(256)) * 4096)  # garbage, and no checksum
    with pytest.raises(ModelUnavailable, match="not a weights file"):
        download_model("ViT-B-32", tmp_path / "library")
    assert cached_weights(get_model("ViT-B-32")) is None
    assert not list(cache.rglob("*.part")), "the garbage is not kept to be resumed"


def test_cli_downloads_with_a_progress_line_and_fails_fast_offline(
    hub: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = subprocess.run([sys.executable, "-m", "photosearch", "models", "download", "ViT-B-32"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "MB" in ok.stderr and "weights at" in ok.stdout
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    offline = subprocess.run(
        [sys.executable, "-m", "photosearch", "models", "download", "ViT-L-14"], capture_output=True, text=True, timeout=60
    )
    assert offline.returncode == 1
    assert "cannot reach the model hub" in offline.stderr and "photosearch models import" in offline.stderr
    with pytest.raises(ModelUnavailable, match="no download"):
        download.download_weights(replace(get_model("tiny-shapes"), weights="/nonexistent", hub_repo=None))
