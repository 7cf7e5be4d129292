"""RAW files and videos are searched like photos: LibRaw previews and half-size development,
PyAV keyframes with their times, RAW+JPEG and Live Photo pairs as one item, the kind filter,
and the files that are not what their names say. Real DNGs (our own writer), real videos
(encoded by PyAV), the real tiny model."""

from __future__ import annotations

import io
import json
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from worker_helpers import converge

from photosearch.core.catalog_schema import MIGRATIONS
from photosearch.core.images import DecodeError, load_for_model
from photosearch.core.library import Library
from photosearch.core.raw import load_raw
from photosearch.core.video import MAX_FRAMES, frame_count, load_video
from photosearch.records import SearchFilter, thumbnail_file
from photosearch.samples import synthetic
from photosearch.samples.raw_files import write_dng
from photosearch.samples.synthetic import ShapeLabel
from photosearch.samples.videos import write_video
from photosearch.worker.client import WorkerClient
from photosearch.worker.protocol import WorkerSettings

LAYOUTS = {label.key: label for label in synthetic.layout_labels()}
RED_ABOVE_BLUE = LAYOUTS["red above blue"]
RED_CIRCLE = ShapeLabel("red", "circle")


def _render(label: synthetic.Label, size: tuple[int, int] = (800, 600), seed: int = 0) -> Image.Image:
    return synthetic.render(label, size, random.Random(seed))


def _scene_video(path: Path, seconds_before: float = 4.0, rotation: int = 0) -> Path:
    """Yellow left of green, then a red circle from `seconds_before`, then blue above white."""
    return write_video(
        path,
        [(LAYOUTS["yellow left of green"], seconds_before), (RED_CIRCLE, 3.0), (LAYOUTS["blue above white"], 3.0)],
        rotation=rotation,
    )


# -- RAW ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("preview", [1024, None, 160], ids=["preview", "no-preview", "small-preview"])
def test_a_raw_file_reads_upright_with_its_capture_time_through_its_preview_or_its_sensor_data(
    tmp_path: Path, preview: int | None
) -> None:
    display = _render(RED_ABOVE_BLUE, (900, 600))
    path = write_dng(tmp_path / "sideways.dng", display, orientation=6, preview=preview)
    pixels, info = load_raw(path, 64, thumbnail=320)
    assert (info.width, info.height) == (900, 600) and info.taken == "2024-06-30 18:05:00"
    top, bottom = pixels[:20].reshape(-1, 3).mean(axis=0), pixels[-20:].reshape(-1, 3).mean(axis=0)
    assert top[0] > top[2] + 60 and bottom[2] > bottom[0] + 60, (top, bottom)  # red above blue: upright
    assert info.thumbnail is not None
    thumbnail = Image.open(io.BytesIO(info.thumbnail))
    # a 160-pixel preview is too small for a 320-pixel thumbnail: the sensor data was developed
    assert thumbnail.size == (320, 213)


def test_the_preview_is_what_is_read_when_it_is_large_enough(tmp_path: Path) -> None:
    """The camera's JPEG, not the sensor data: a preview showing another picture tells them apart."""
    green_on_top = _render(LAYOUTS["green above yellow"])
    big = write_dng(tmp_path / "big.dng", _render(RED_ABOVE_BLUE), preview=1024, preview_picture=green_on_top)
    small = write_dng(tmp_path / "small.dng", _render(RED_ABOVE_BLUE), preview=160, preview_picture=green_on_top)
    from_preview, _ = load_raw(big, 64)
    from_sensor, _ = load_raw(small, 64, thumbnail=320)  # 160 pixels: too small for a 320-pixel thumbnail
    top_of = lambda pixels: pixels[12:24, 16:48].reshape(-1, 3).mean(axis=0)  # noqa: E731
    assert top_of(from_preview)[1] > top_of(from_preview)[0] + 40  # green on top: the preview
    assert top_of(from_sensor)[0] > top_of(from_sensor)[1] + 40  # red on top: developed


def test_files_that_are_not_what_their_names_say_are_skipped_with_reasons(tmp_path: Path) -> None:
    text = tmp_path / "notes.nef"
    text.write_text("this is not a photo at all\n" * 50)
    with pytest.raises(DecodeError, match="not a RAW file"):
        load_raw(text, 64)
    video = _scene_video(tmp_path / "clip.mp4")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    with pytest.raises(DecodeError, match="truncated or damaged"):
        load_video(cut, 64)
    (tmp_path / "empty.mov").write_bytes(b"")
    with pytest.raises(DecodeError):
        load_video(tmp_path / "empty.mov", 64)


def test_a_playlist_named_like_a_video_opens_nothing_else(tmp_path: Path) -> None:
    """FFmpeg reads playlists (HLS, concat) that name other files and addresses: a file named .mp4
    gets the MP4 demuxer and the file itself, never a fetch (a local server counts the tries)."""
    import http.server
    import threading

    asked: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        address = f"http://127.0.0.1:{server.server_address[1]}"
        for name, text in (
            (
                "hls.mp4",
                f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n{address}/segment.ts\n#EXT-X-ENDLIST\n",
            ),
            ("concat.mkv", f"ffconcat version 1.0\nfile '{address}/part.mp4'\n"),
        ):
            (tmp_path / name).write_text(text)
            with pytest.raises(DecodeError):
                load_video(tmp_path / name, 64)
    finally:
        server.shutdown()
        server.server_close()
    assert asked == []


# -- video --------------------------------------------------------------------------------------


def test_frames_grow_with_the_length_and_are_capped() -> None:
    counts = [frame_count(s) for s in (0.5, 10, 60, 600, 3600, 36_000)]
    assert counts == sorted(counts) and counts[0] >= 1 and counts[-1] == MAX_FRAMES
    assert 8 <= frame_count(10) <= 12  # about one a second for a short clip


def test_a_video_gives_a_picture_per_distinct_keyframe_upright_with_its_time(tmp_path: Path) -> None:
    video = load_video(_scene_video(tmp_path / "phone.mov", rotation=90), 64, thumbnail=320)
    assert video.times == (0.0, 4.0, 7.0)  # repeats of a still scene dropped
    assert (video.info.width, video.info.height) == (320, 240)  # stored sideways, shown upright
    assert video.info.duration == pytest.approx(10.0, abs=0.2) and video.info.taken is not None
    assert len(video.thumbnails) == 3 and Image.open(io.BytesIO(video.thumbnails[1])).size == (320, 240)
    circle = video.pixels[1]
    assert circle[32, 32, 0] > 150 and circle[32, 32, 1] < 90  # the red circle, in the middle


def test_a_video_in_a_codec_this_ffmpeg_cannot_decode_is_skipped_with_a_reason(tmp_path: Path) -> None:
    """The installers' FFmpeg has decoders for what phones and cameras record, not every codec:
    such a file names what is missing instead of an error from inside PyAV."""
    clip = write_video(tmp_path / "a.mp4", [(RED_CIRCLE, 1.0)]).read_bytes()
    assert clip.count(b"mp4v") == 1 and clip.count(b"esds") == 1  # the sample entry: MPEG-4 part 2, its decoder setup
    unknown = tmp_path / "unknown.mp4"
    unknown.write_bytes(clip.replace(b"mp4v", b"zzzz").replace(b"esds", b"zzzz"))  # a codec no FFmpeg has
    with pytest.raises(DecodeError, match="no decoder in this installation for this video's codec"):
        load_video(unknown, 64)


def test_a_video_with_no_length_is_read_in_order(tmp_path: Path) -> None:
    path = write_video(tmp_path / "a.webm", [(RED_CIRCLE, 2.0), (RED_ABOVE_BLUE, 2.0)])
    assert load_video(path, 64).times[:2] == (0.0, 2.0)


# -- the library --------------------------------------------------------------------------------


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """A folder of every kind: photos, a RAW alone, a RAW+JPEG pair, a video, a Live Photo, and
    two files that are not what their names say."""
    folder = tmp_path / "media"
    rng = random.Random(5)
    synthetic.write_photo(folder / "square.jpg", ShapeLabel("blue", "square"), (640, 480), rng)
    synthetic.write_photo(folder / "triangle.jpg", ShapeLabel("green", "triangle"), (640, 480), rng)
    write_dng(folder / "raw_alone.dng", _render(ShapeLabel("yellow", "circle")), orientation=6, preview=None)
    synthetic.write_photo(folder / "DSC_0001.jpg", ShapeLabel("black", "square"), (640, 480), rng)
    write_dng(folder / "DSC_0001.dng", _render(ShapeLabel("black", "square")))
    _scene_video(folder / "beach.mp4")
    synthetic.write_photo(folder / "IMG_0001.jpg", ShapeLabel("white", "triangle"), (640, 480), rng)
    write_video(folder / "IMG_0001.mov", [(ShapeLabel("white", "triangle"), 1.0), (ShapeLabel("green", "circle"), 2.0)])
    (folder / "text.cr2").write_text("not a raw file\n")
    clip = (folder / "beach.mp4").read_bytes()
    (folder / "cut.mp4").write_bytes(clip[: len(clip) // 2])
    return folder


def _names(results: object) -> list[str]:
    return [Path(hit.path).name for hit in results]  # type: ignore[attr-defined]


def test_the_tiny_model_finds_a_red_circle_in_a_video_at_the_second_it_appears(library: Library, media: Path) -> None:
    library.add_folder(media)
    library.index()
    hits = library.search("a red circle", k=3)
    best = hits[0]
    assert Path(best.path).name == "beach.mp4" and best.kind == "video"
    assert best.at == 4.0 and best.duration == pytest.approx(10.0, abs=0.2)
    assert _names(hits).count("beach.mp4") == 1  # its other frames do not crowd out other results
    frame = Path(thumbnail_file(str(library.layout.thumbnails), best.id, best.at))
    centre = Image.open(frame).convert("RGB").getpixel((160, 120))
    assert frame.is_file() and isinstance(centre, tuple) and centre[0] > 150  # the frame that matched
    assert library.search("a yellow circle", k=1)[0].kind == "raw"  # the RAW with no preview, turned upright


def test_raw_and_jpeg_pairs_and_live_photos_are_one_item_each(library: Library, media: Path) -> None:
    library.add_folder(media)
    library.index()
    pair = library.search("a black square", k=3)[0]
    assert Path(pair.path).name == "DSC_0001.jpg" and [Path(c).name for c in pair.companions] == ["DSC_0001.dng"]
    live = library.search("a green circle", k=1)[0]  # only the Live Photo's clip shows a green circle
    assert Path(live.path).name == "IMG_0001.jpg" and live.kind == "photo" and live.at is None
    assert [Path(c).name for c in live.companions] == ["IMG_0001.mov"]
    every = _names(library.search("a photo", k=50))
    assert sorted(every) == ["DSC_0001.jpg", "IMG_0001.jpg", "beach.mp4", "raw_alone.dng", "square.jpg", "triangle.jpg"]
    vectors = dict(
        library.catalog.read("SELECT p.path, COUNT(e.id) FROM photos p LEFT JOIN embeddings e ON e.photo_id = p.id GROUP BY p.id")
    )
    assert vectors[str(media / "DSC_0001.dng")] == 0 and vectors[str(media / "DSC_0001.jpg")] == 1  # embedded once
    assert vectors[str(media / "beach.mp4")] == 3
    # the developed photo goes: the RAW is embedded and found itself
    (media / "DSC_0001.jpg").unlink()
    library.index()
    alone = library.search("a black square", k=1)[0]
    assert Path(alone.path).name == "DSC_0001.dng" and alone.kind == "raw" and alone.companions == ()
    # and comes back: one item again, the RAW's vector gone
    synthetic.write_photo(media / "DSC_0001.jpg", ShapeLabel("black", "square"), (640, 480), random.Random(1))
    library.index()
    assert _names(library.search("a black square", k=2))[:1] == ["DSC_0001.jpg"]
    assert "DSC_0001.dng" not in _names(library.search("a photo", k=50))


def test_the_kind_filter_status_counts_and_skips(library: Library, media: Path) -> None:
    library.add_folder(media)
    library.index()
    assert _names(library.search("a red circle", k=5, where=SearchFilter(kinds=("video",)))) == ["beach.mp4"]
    assert sorted(_names(library.search("a photo", k=9, where=SearchFilter(kinds=("raw",))))) == ["DSC_0001.jpg", "raw_alone.dng"]
    stills = _names(library.search("a photo", k=9, where=SearchFilter(kinds=("photo",))))
    assert "beach.mp4" not in stills and "raw_alone.dng" not in stills and "IMG_0001.jpg" in stills
    status = library.status()
    assert status.kinds["video"].indexed == 2 and status.kinds["video"].skipped == 1
    assert status.kinds["raw"].indexed == 2 and status.kinds["raw"].skipped == 1
    assert status.kinds["photo"].indexed == 4
    reasons = {Path(s.path).name: s.reason for s in status.skipped}
    assert reasons == {
        "cut.mp4": "video is truncated or damaged",
        "text.cr2": "not a RAW file this app can read (or a damaged one)",
    }


def test_photos_are_embedded_before_a_video_found_earlier(library: Library, tmp_path: Path) -> None:
    """A video never holds up the photos around it: found first, it is still embedded after them."""
    folder = tmp_path / "arrivals"
    _scene_video(folder / "first.mp4")
    library.add_folder(folder)
    library.reconcile()  # the video is known (and pending) before any photo
    rng = random.Random(7)
    for index in range(6):
        synthetic.write_photo(folder / f"later-{index}.jpg", ShapeLabel("green", "square"), (640, 480), rng)
    library.index()
    rows = library.catalog.read("SELECT p.id, p.kind, e.id FROM embeddings e JOIN photos p ON p.id = e.photo_id")
    video_id = min(photo for photo, kind, _ in rows if kind == "video")
    assert all(photo > video_id for photo, kind, _ in rows if kind == "photo")  # the video came first
    assert max(label for _, kind, label in rows if kind == "photo") < min(label for _, kind, label in rows if kind == "video")


def test_a_video_that_goes_takes_its_vectors_and_frames_with_it(library: Library, media: Path) -> None:
    library.add_folder(media)
    library.index()
    video = library.search("a red circle", k=1)[0]
    frames = Path(thumbnail_file(str(library.layout.thumbnails), video.id, 0.0)).parent
    assert len(list(frames.iterdir())) == 3
    (media / "beach.mp4").unlink()
    library.index()
    library.drop_thumbnails()
    assert "beach.mp4" not in _names(library.search("a red circle", k=10))
    assert not frames.exists() and library.catalog.read("SELECT COUNT(*) FROM embeddings WHERE at_ms >= 0")[0][0] == 2


def test_a_video_can_be_a_query_and_the_command_line_names_the_moment(library: Library, media: Path) -> None:
    library.add_folder(media)
    library.index()
    library.close()
    found = subprocess.run(
        [sys.executable, "-m", "photosearch", "search", "a", "red", "circle", "--json", "-k", "2", "--kind", "video"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "PHOTOSEARCH_HOME": str(library.home)},
        timeout=120,
    )
    assert found.returncode == 0, found.stderr
    rows = json.loads(found.stdout)
    assert [(Path(r["path"]).name, r["kind"], r["at"]) for r in rows] == [("beach.mp4", "video", 4.0)]
    with Library(library.home, model="tiny-shapes", threads=2) as again:
        similar = again.similar(media / "IMG_0001.mov", k=2)  # a video as the query: its frames' common direction
        assert Path(similar[0].path).name in {"IMG_0001.jpg", "triangle.jpg"}


def _schema_7_catalog(path: Path, photos: int, dim: int) -> sqlite3.Connection:
    """A catalog as the release before videos wrote it: `photos` indexed photos, a vector each."""
    db = sqlite3.connect(path)
    for version in range(1, 8):
        db.executescript(f"{MIGRATIONS[version]};PRAGMA user_version={version};")
    db.execute("INSERT INTO folders(path, added_at) VALUES('/p', 0)")
    db.executemany(
        "INSERT INTO photos(folder_id, path, size, mtime_ns, status, updated_at) VALUES(1, ?, 1, 1, 'indexed', 0)",
        [(f"/p/{index}.jpg",) for index in range(photos)],
    )
    vector = np.ones(dim, np.float32).tobytes()
    db.executemany("INSERT INTO embeddings(photo_id, model, vector) VALUES(?, 'm', ?)", [(i + 1, vector) for i in range(photos)])
    return db


def test_a_catalog_from_before_videos_keeps_its_labels_and_never_issues_one_twice(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    db = _schema_7_catalog(path, photos=3, dim=4)
    db.execute("DELETE FROM embeddings WHERE id = 3")  # label 3 was issued once: never again
    db.commit()
    db.close()
    from photosearch.core.catalog import Catalog

    catalog = Catalog(path)
    assert catalog.read("SELECT id, at_ms FROM embeddings ORDER BY id") == [(1, -1), (2, -1)]
    assert catalog.read("SELECT stem FROM photos ORDER BY id") == [("/p/0",), ("/p/1",), ("/p/2",)]
    with catalog.transaction() as db:
        db.execute("INSERT INTO embeddings(photo_id, model, vector) VALUES(3, 'm', ?)", (np.ones(4, np.float32).tobytes(),))
    assert catalog.read("SELECT MAX(id) FROM embeddings")[0][0] == 4
    assert catalog.changes_since("m", 0)[-1][1:] == (4, "add")
    catalog.close()


def test_the_upgrade_gives_back_the_space_of_the_copied_vectors(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    db = _schema_7_catalog(path, photos=2000, dim=512)
    db.commit()
    db.close()
    before = path.stat().st_size
    from photosearch.core.catalog import Catalog

    catalog = Catalog(path)
    assert catalog.embedding_count("m") == 2000 and catalog.read("PRAGMA freelist_count") == [(0,)]
    catalog.close()
    assert path.stat().st_size < before * 1.2  # not the old table's copy beside the new one


def test_a_photo_is_decoded_the_same_whatever_the_pipeline_reads_beside_it(tmp_path: Path) -> None:
    """Stills keep the decoder they always had (the kind dispatch changes nothing for them)."""
    photo = synthetic.write_photo(tmp_path / "p.jpg", RED_CIRCLE, (640, 480), random.Random(2))
    from photosearch.core.media import decode_media

    pixels, _ = load_for_model(photo, 64)
    assert np.array_equal(decode_media(photo, 64).pixels, pixels)


_CRASHING_DECODER = """
import ctypes, sys
from pathlib import Path
import photosearch.core.media as media
media.load_video = lambda *args, **kwargs: ctypes.string_at(0)  # a read of address 0 in C: a decoder's segfault
from photosearch.core.library import Library
with Library(Path(sys.argv[1]), model="tiny-shapes", threads=1) as library:
    library.add_folder(Path(sys.argv[2]))
    library.index()
"""


def test_a_video_that_crashes_its_decoder_twice_is_skipped_not_retried_for_ever(tmp_path: Path, tiny_model: None) -> None:
    """A decoder that kills the process (a segfault in FFmpeg) must not make a crash loop of the
    worker's restarts: the file is skipped with the reason, the photos beside it are indexed."""
    folder = tmp_path / "media"
    _scene_video(folder / "poison.mp4")
    synthetic.write_photo(folder / "fine.jpg", RED_CIRCLE, (640, 480), random.Random(1))
    home = tmp_path / "library"
    for _ in range(2):
        crashed = subprocess.run(
            [sys.executable, "-c", _CRASHING_DECODER, str(home), str(folder)], capture_output=True, text=True, timeout=120
        )
        assert crashed.returncode == -11, crashed.stderr[-2000:]
    with Library(home, model="tiny-shapes", threads=1) as library:
        library.index()
        reasons = {Path(path).name: reason for path, reason in library.catalog.skipped()}
        assert reasons == {"poison.mp4": "its decoder stopped the app while reading it (a damaged or hostile file?)"}
        assert _names(library.search("a red circle", k=5)) == ["fine.jpg"]
        assert not list(library.layout.decoding.iterdir())
    # one death mid-decode (a kill, a power cut) is not taken for a crashing file
    (folder / "poison.mp4").touch()
    subprocess.run([sys.executable, "-c", _CRASHING_DECODER, str(home), str(folder)], capture_output=True, timeout=120)
    with Library(home, model="tiny-shapes", threads=1) as library:
        library.index()
        assert library.catalog.skipped() == [] and "poison.mp4" in _names(library.search("a red circle", k=5))


# -- the live worker ---------------------------------------------------------------------------


@pytest.fixture
def worker(tmp_path: Path, tiny_model: None) -> Iterator[tuple[WorkerClient, Path]]:
    folder = tmp_path / "watched"
    folder.mkdir()
    settings = WorkerSettings(home=str(tmp_path / "library"), model="tiny-shapes", threads=1, quiet_s=0.3, settle_s=0.8)
    client = WorkerClient(settings).start()
    client.add_folder(folder)
    yield client, folder
    client.shutdown()


def test_a_video_copied_into_a_watched_folder_is_found_at_its_moment_and_photos_are_not_held_up(
    worker: tuple[WorkerClient, Path],
) -> None:
    client, folder = worker
    started = time.monotonic()
    video = write_video(
        folder / "long.mp4",
        [(LAYOUTS["yellow left of green"], 30.0), (RED_CIRCLE, 5.0), (LAYOUTS["blue above white"], 25.0)],
        fps=5,
    )
    photo = synthetic.write_photo(folder / "after.jpg", ShapeLabel("blue", "triangle"), (640, 480), random.Random(3))
    converge(client, folder, {video, photo}, timeout=90)
    hit = client.search("a red circle", k=1).hits[0]
    assert Path(hit.path).name == "long.mp4" and 29.0 <= (hit.at or 0) <= 31.0
    assert client.search("a blue triangle", k=1).hits[0].path == str(photo)
    assert time.monotonic() - started < 90
