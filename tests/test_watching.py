"""The live library: a real worker process watching real folders keeps the index exact by itself.

One worker serves the whole module (starting one costs seconds); every test works in its own
subfolders, waits for the library to converge and asserts the exact set of indexed paths there,
that the worker embedded exactly as often as it should (moves: never), and that search finds it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from worker_helpers import LABELS, converge, make_photo, stats

from photosearch.records import LibraryStatus
from photosearch.worker import protocol as p
from photosearch.worker.client import WorkerClient, WorkerError
from photosearch.worker.protocol import WorkerSettings

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("live")
    for name in ("a", "b", "outside"):
        (root / name).mkdir()
    return root


@pytest.fixture(scope="module")
def client(space: Path) -> Iterator[WorkerClient]:
    events: list[p.Event] = []
    settings = WorkerSettings(home=str(space / "library"), model="tiny-shapes", threads=1, quiet_s=0.3, settle_s=0.8)
    worker = WorkerClient(settings, on_event=events.append).start()
    worker.events = events  # type: ignore[attr-defined]
    worker.add_folder(space / "a")
    worker.add_folder(space / "b")
    yield worker
    worker.shutdown()


def _top_hit(client: WorkerClient, image: Path) -> str:
    results = client.search("", images=(str(image),), k=3)
    return results.hits[0].path


def test_worker_uses_the_configured_threads_and_watches_both_folders(client: WorkerClient, space: Path) -> None:
    worker = client.status().worker
    assert worker is not None and (worker.inference_threads, worker.decode_threads) == (1, 1)
    assert worker.watched == (str(space / "a"), str(space / "b"))


def test_created_photo_is_indexed_and_found(client: WorkerClient, space: Path) -> None:
    folder = space / "a" / "create"
    before = stats(client).embedded
    photo = make_photo(folder / "yellow.jpg", LABELS.index(next(x for x in LABELS if x.key == "yellow triangle")), seed=1)
    converge(client, folder, {photo})
    assert stats(client).embedded - before == 1
    assert _top_hit(client, photo) == str(photo)
    hits = [h.path for h in client.search("a yellow triangle", k=50).hits]
    assert str(photo) in hits


def test_modified_photo_is_embedded_again(client: WorkerClient, space: Path) -> None:
    folder = space / "a" / "modify"
    photo = make_photo(folder / "photo.jpg", 0, seed=2)
    converge(client, folder, {photo})
    before = stats(client).embedded
    replacement = make_photo(space / "outside" / "modify-new.jpg", 7, seed=3)
    time.sleep(0.05)
    photo.write_bytes(replacement.read_bytes())  # in place, not a rename
    converge(client, folder, {photo}, extra=lambda s: s.worker.stats.embedded > before)
    assert stats(client).embedded - before == 1
    top = client.search("", images=(str(replacement),), k=1).hits[0]
    assert top.path == str(photo) and top.score > 0.999


def test_rename_and_moves_keep_their_embeddings(client: WorkerClient, space: Path) -> None:
    a, b = space / "a" / "moves", space / "b" / "moves"
    photos = [make_photo(a / f"p{i}.jpg", i, seed=4) for i in range(3)]
    converge(client, a, set(photos))
    before = stats(client).embedded
    renamed = a / "renamed.jpg"
    photos[0].rename(renamed)
    b.mkdir()
    moved = b / "p1.jpg"
    shutil.move(photos[1], moved)  # between two watched folders
    converge(client, a, {renamed, photos[2]})
    converge(client, b, {moved})
    assert stats(client).embedded == before, "a move or rename must not decode or embed again"
    assert _top_hit(client, renamed) == str(renamed)
    assert _top_hit(client, moved) == str(moved)


def test_moves_in_and_out_of_the_library(client: WorkerClient, space: Path) -> None:
    folder = space / "a" / "inout"
    folder.mkdir()
    outside = make_photo(space / "outside" / "incoming.jpg", 5, seed=5)
    leaving = make_photo(folder / "leaving.jpg", 6, seed=5)
    converge(client, folder, {leaving})
    shutil.move(outside, folder / "incoming.jpg")
    shutil.move(leaving, space / "outside" / "left.jpg")
    converge(client, folder, {folder / "incoming.jpg"})
    assert _top_hit(client, folder / "incoming.jpg") == str(folder / "incoming.jpg")
    assert all(h.path != str(leaving) for h in client.search("", images=(str(space / "outside" / "left.jpg"),), k=20).hits)


def test_deleting_files_and_a_whole_subfolder(client: WorkerClient, space: Path) -> None:
    folder = space / "b" / "delete"
    keep = make_photo(folder / "keep.jpg", 1, seed=6)
    gone = make_photo(folder / "gone.jpg", 2, seed=6)
    nested = [make_photo(folder / "sub" / "deeper" / f"n{i}.jpg", i, seed=7) for i in range(5)]
    converge(client, folder, {keep, gone, *nested})
    gone.unlink()
    shutil.rmtree(folder / "sub")
    converge(client, folder, {keep})


def test_bulk_copy_of_500_files_is_coalesced(client: WorkerClient, space: Path, tmp_path: Path) -> None:
    source = tmp_path / "camera"
    photos = [make_photo(source / f"IMG_{i:04d}.jpg", i, seed=8, size=(160, 120)) for i in range(500)]
    before = stats(client)
    target = space / "a" / "import"
    shutil.copytree(source, target)
    converge(client, target, {target / photo.name for photo in photos}, timeout=180)
    after = stats(client)
    assert after.embedded - before.embedded == 500
    assert after.events - before.events >= 500  # the watcher saw every file…
    assert after.syncs - before.syncs <= 20  # …and synced them in a few batches


def test_atomic_save_re_embeds_once(client: WorkerClient, space: Path) -> None:
    folder = space / "b" / "atomic"
    photo = make_photo(folder / "edited.jpg", 3, seed=9)
    converge(client, folder, {photo})
    before = stats(client).embedded
    new_content = make_photo(space / "outside" / "edited-v2.jpg", 11, seed=9).read_bytes()
    temporary = folder / "edited.jpg.tmp"  # how editors save: write a temp file, rename it over
    temporary.write_bytes(new_content)
    os.replace(temporary, photo)
    converge(client, folder, {photo}, extra=lambda s: s.worker.stats.embedded > before)
    time.sleep(1.5)  # room for a second (wrong) embedding to happen
    assert stats(client).embedded - before == 1
    assert client.search("", images=(str(space / "outside" / "edited-v2.jpg"),), k=1).hits[0].path == str(photo)


def test_a_file_written_slowly_is_embedded_once_complete(client: WorkerClient, space: Path) -> None:
    folder = space / "a" / "slow"
    folder.mkdir()
    content = make_photo(space / "outside" / "slow-source.jpg", 4, seed=10, size=(640, 480)).read_bytes()
    before = stats(client)
    target = folder / "arriving.jpg"
    chunks = [content[i : i + len(content) // 4 + 1] for i in range(0, len(content), len(content) // 4 + 1)]
    with open(target, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
            handle.flush()
            time.sleep(0.4)
    converge(client, folder, {target})
    after = stats(client)
    assert after.embedded - before.embedded == 1
    assert after.skipped == before.skipped
    assert client.search("", images=(str(space / "outside" / "slow-source.jpg"),), k=1).hits[0].score > 0.999


def test_removing_a_folder_forgets_its_photos(client: WorkerClient, space: Path) -> None:
    extra = space / "extra"
    photos = [make_photo(extra / f"e{i}.jpg", i, seed=11) for i in range(3)]
    client.add_folder(extra)
    converge(client, extra, set(photos))
    assert client.remove_folder(extra) == 3
    converge(client, extra, set())
    worker = client.status().worker
    assert worker is not None and str(extra) not in worker.watched
    make_photo(extra / "after.jpg", 9, seed=11)  # no longer watched: stays out
    time.sleep(1.5)
    converge(client, extra, set())


def test_a_vanished_folder_stays_offline_until_it_returns(client: WorkerClient, space: Path) -> None:
    drive = space / "drive"
    photos = [make_photo(drive / f"d{i}.jpg", i, seed=12) for i in range(3)]
    client.add_folder(drive)
    converge(client, drive, set(photos))
    drive.rename(space / "drive-unplugged")  # the drive is unmounted

    def offline(status: LibraryStatus) -> bool:
        return any(f.path == str(drive) and f.state == "offline" for f in status.folders)

    converge(client, drive, set(photos), extra=offline)  # photos kept while offline
    (space / "drive-unplugged").rename(drive)  # plugged back in, with one photo added elsewhere meanwhile
    added = make_photo(drive / "d9.jpg", 9, seed=12)
    status = converge(client, drive, {*photos, added}, extra=lambda s: not offline(s))
    assert str(drive) in status.worker.watched
    assert any(isinstance(e, p.FolderChanged) and e.state == "offline" for e in client.events)  # type: ignore[attr-defined]


def test_pause_holds_indexing_and_resume_catches_up(client: WorkerClient, space: Path) -> None:
    folder = space / "b" / "paused"
    client.pause()
    try:
        photo = make_photo(folder / "waiting.jpg", 5, seed=13)
        time.sleep(2.0)
        status = client.status(include_paths=True)
        assert status.paths is not None and str(photo) not in status.paths and status.photos.pending >= 1
        assert status.worker is not None and status.worker.state == "paused"
    finally:
        client.resume()
    converge(client, folder, {photo})


def test_bad_queries_fail_with_a_reason_and_the_worker_keeps_serving(client: WorkerClient, space: Path) -> None:
    with pytest.raises(WorkerError, match="no such image"):
        client.similar(space / "outside" / "does-not-exist.jpg")
    with pytest.raises(WorkerError, match="not a folder"):
        client.add_folder(space / "outside" / "nope")
    broken = space / "a" / "broken" / "broken.jpg"
    broken.parent.mkdir()
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not a photo")
    status = converge(client, broken.parent, set(), extra=lambda s: any(x.path == str(broken) for x in s.skipped))
    assert status.photos.pending == 0
    assert client.search("a red circle", k=1).hits


def test_a_worker_that_cannot_open_the_library_is_reported_not_restarted(tmp_path: Path) -> None:
    from photosearch.core.writer_lock import WriterLock

    home = tmp_path / "busy-library"
    home.mkdir()
    lock = WriterLock(home / "writer.lock")
    lock.acquire()  # another process is this library's writer
    try:
        client = WorkerClient(WorkerSettings(home=str(home), model="tiny-shapes"))
        with pytest.raises(WorkerError, match="another photosearch process"):
            client.start(timeout=60)
        time.sleep(1.0)
        assert client.restarts == 0 and client.fatal
        with pytest.raises(WorkerError):
            client.status()
        client.shutdown()
    finally:
        lock.release()
