"""Hard cases a careless user, a hostile file or a faulty machine bring: each one here lost work
or blocked a whole library before its fix. Real files, real SQLite, real processes."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import damage_a_page, small_disk, write_shapes

from photosearch.core.library import CatalogDamaged, Library
from photosearch.core.path_text import ESCAPE, from_db, to_db
from photosearch.records import printable
from photosearch.samples import synthetic

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model

LABELS = synthetic.shape_labels()
RED_CIRCLE = next(label for label in LABELS if label.key == "red circle")


# Names holding bytes that are not UTF-8 exist on POSIX file systems only (Windows names are UTF-16).
posix_names = pytest.mark.skipif(sys.platform == "win32", reason="Windows file names cannot hold bytes that are not text")
# POSIX permission bits make a folder unreadable; Windows has ACLs instead.
posix_modes = pytest.mark.skipif(sys.platform == "win32", reason="chmod does not make a folder unreadable on Windows")


def _bytes_name(folder: Path, name: bytes) -> str:
    """A path whose last part is raw bytes (not valid UTF-8), as Python names it on Linux."""
    return os.fsdecode(os.path.join(os.fsencode(folder), name))


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PHOTOSEARCH_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "photosearch", *args], env=env, capture_output=True, text=True, timeout=300)


def _run(prefix: list[str], home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*prefix, sys.executable, "-m", "photosearch", "--library", str(home), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


# -- 1. file names that are not UTF-8 --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/plain/a.jpg", "/p/caf\udce9.jpg", "/p/" + ESCAPE + "x", "/p/\udcff" + ESCAPE + "\ud800", "/日本/写真.jpg"],
)
def test_paths_round_trip_through_the_catalog_text(path: str) -> None:
    stored = to_db(path)
    stored.encode("utf-8")  # valid UTF-8: SQLite can hold it
    assert from_db(stored) == path


def test_the_catalog_text_keeps_folder_prefixes() -> None:
    folder = "/p/\udce9t\udce9"  # how Python names b"/p/\xe9t\xe9" on POSIX
    assert to_db(folder + "/a.jpg").startswith(to_db(folder) + "/")


@posix_names
def test_a_photo_named_with_stray_bytes_is_indexed_like_any_other(library: Library, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    write_shapes(photos, LABELS[:3], 1)
    odd = _bytes_name(photos, b"caf\xe9 \xff.jpg")
    synthetic.write_photo(Path(odd), RED_CIRCLE, (320, 240), random.Random(3))
    library.add_folder(photos)
    sync, report = library.index()
    assert (sync.new, report.indexed, report.skipped) == (4, 4, 0)
    assert odd in library.catalog.indexed_paths()
    assert odd in [hit.path for hit in library.search("a red circle", k=2)]
    assert library.similar(Path(odd), k=3)  # a `similar` image with such a name
    os.unlink(odd)
    sync, _ = library.index()
    assert sync.removed == 1 and odd not in library.catalog.indexed_paths()


@posix_names
def test_a_folder_and_a_library_named_with_stray_bytes(tmp_path: Path) -> None:
    photos = Path(_bytes_name(tmp_path, b"Urlaub \xe9t\xe9"))
    write_shapes(photos, LABELS[:2], 2)
    home = Path(_bytes_name(tmp_path, b"biblioth\xe8que"))
    with Library(home, model="tiny-shapes") as library:
        library.add_folder(photos)
        _, report = library.index()
        assert report.indexed == 2
    with Library(home, model="tiny-shapes") as library:  # the snapshot is saved and loads again
        assert len(library.search("a red circle", k=2)) == 2 and library.store.note == "loaded from snapshot"


@posix_names
def test_the_cli_shows_such_names_escaped_and_json_keeps_them_exactly(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    odd = _bytes_name(photos, b"caf\xe9.jpg")
    newline = str(photos / "two\nlines\x1b[31m.jpg")
    for path in (odd, newline):
        synthetic.write_photo(Path(path), RED_CIRCLE, (320, 240), random.Random(4))
    home = tmp_path / "library"
    assert _cli("index", str(photos), "--quiet", home=home).returncode == 0
    text = _cli("search", "a", "red", "circle", home=home)
    assert text.returncode == 0, text.stderr
    assert "caf\\xe9.jpg" in text.stdout and "two\\nlines\\x1b[31m.jpg" in text.stdout
    assert len(text.stdout.strip().splitlines()) == 2 and "\x1b" not in text.stdout
    rows = json.loads(_cli("search", "a", "red", "circle", "--json", home=home).stdout)
    assert {row["path"] for row in rows} == {odd, newline}
    status = _cli("status", home=home)
    assert status.returncode == 0 and "\x1b" not in status.stdout


def test_printable_escapes_only_what_breaks_a_line() -> None:
    assert printable("/a/caf\udce9.jpg") == "/a/caf\\xe9.jpg"
    assert printable("a\nb\x1b.jpg") == "a\\nb\\x1b.jpg"
    assert printable("x\u202egpj.exe") == "x\\u202egpj.exe"
    assert printable("👨\u200d👩\u200d👧 Zoë 日本.jpg") == "👨\u200d👩\u200d👧 Zoë 日本.jpg"


# -- 2. a folder that suddenly looks empty or unreadable ------------------------------------------


def _drop_permission_override() -> list[str]:
    """A command prefix under which file permissions apply (root normally overrides them)."""
    if sys.platform == "win32":
        pytest.skip("chmod does not make a folder unreadable on Windows")
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a folder unreadable to photosearch")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def test_a_folder_that_is_an_empty_mount_point_goes_offline_and_keeps_its_photos(library: Library, tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    write_shapes(drive, LABELS[:3], 5)
    library.add_folder(drive)
    library.index()
    elsewhere = tmp_path / "contents-of-the-unplugged-drive"
    drive.rename(elsewhere)
    drive.mkdir()  # what an unplugged drive leaves behind: its empty mount point
    sync, _ = library.index()
    assert sync.offline == (str(drive),) and sync.removed == 0
    assert len(library.catalog.indexed_paths()) == 3 and library.status().folders[0].state == "offline"
    drive.rmdir()
    elsewhere.rename(drive)  # plugged in again
    sync, report = library.index()
    assert (sync.unchanged, report.indexed) == (3, 0), "nothing is decoded again"
    assert library.status().folders[0].state == "online"


def test_an_empty_folder_that_never_had_photos_is_simply_empty(library: Library, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    library.add_folder(tmp_path / "empty")
    sync, _ = library.index()
    assert sync.offline == () and library.status().folders[0].state == "online"


@posix_modes
def test_an_unreadable_subfolder_keeps_its_photos_and_is_reported(tmp_path: Path) -> None:
    prefix = _drop_permission_override()
    photos, home = tmp_path / "photos", tmp_path / "library"
    write_shapes(photos / "a", LABELS[:2], 6)
    write_shapes(photos / "b", LABELS[2:4], 7)
    assert _cli("index", str(photos), "--quiet", home=home).returncode == 0
    (photos / "b").chmod(0)
    try:
        result = _run(prefix, home, "index", "--quiet")
    finally:
        (photos / "b").chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert f"folder unreadable (its photos are kept): {photos / 'b'}" in result.stderr
    assert "removed 0" in result.stdout
    with Library(home) as library:
        assert len(library.catalog.indexed_paths()) == 4


@posix_modes
def test_an_unreadable_library_folder_goes_offline_and_comes_back(tmp_path: Path) -> None:
    prefix = _drop_permission_override()
    photos, home = tmp_path / "photos", tmp_path / "library"
    write_shapes(photos, LABELS[:3], 8)
    assert _cli("index", str(photos), "--quiet", home=home).returncode == 0
    photos.chmod(0)
    try:
        result = _run(prefix, home, "index", "--quiet")
    finally:
        photos.chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert "folder offline" in result.stderr and "removed 0" in result.stdout
    with Library(home) as library:
        assert len(library.catalog.indexed_paths()) == 3 and library.status().folders[0].state == "offline"
    again = _run([], home, "index", "--quiet")
    assert "unchanged 3" in again.stdout and "indexed 0" in again.stdout


# -- 5. the same photo through a symbolic link --------------------------------------------------------


def test_links_into_library_folders_never_index_a_photo_twice(library: Library, tmp_path: Path) -> None:
    a, b, outside = tmp_path / "a", tmp_path / "b", tmp_path / "outside"
    in_a = write_shapes(a, LABELS[:3], 9)
    write_shapes(b, LABELS[3:5], 10)
    write_shapes(outside, LABELS[5:6], 11)
    os.symlink(a, b / "link-to-a")  # a folder linking to another library folder
    os.symlink(in_a[0], b / "same-photo.jpg")  # a file linking to a photo of the library
    os.symlink(in_a[1], a / "another-name.jpg")  # a link to a photo beside it
    os.symlink(outside, b / "link-outside")  # a link out of the library is followed
    library.add_folder(a)
    library.add_folder(b)
    library.index()
    paths = library.catalog.indexed_paths()
    assert len(paths) == 6, paths
    assert str(b / "link-outside" / os.listdir(outside)[0]) in paths
    report, _ = library.sync_paths([str(b / "link-to-a"), str(b / "same-photo.jpg")])  # a watcher's hints
    assert report.new == 0
    hits = library.search("a red circle", k=6)
    assert len({hit.path for hit in hits}) == len(hits) == 6


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX links and system folders")
def test_a_link_to_the_root_or_into_the_system_is_never_walked(library: Library, tmp_path: Path) -> None:
    """A link to `/` in a photo folder once indexed the whole file system (47,188 files, /proc and
    other libraries among them): a link to a folder above its own is a loop, and the system's
    live folders are never entered, whether by a full scan or by a watcher's event."""
    photos = tmp_path / "photos"
    write_shapes(photos / "2024", LABELS[:3], 13)
    os.symlink("/", photos / "everything")
    os.symlink(photos, photos / "2024" / "up")
    os.symlink("/proc/self", photos / "me")
    os.symlink("/dev", photos / "devices")
    library.add_folder(photos)
    sync, _ = library.index()
    assert sync.new == 3 and len(library.catalog.indexed_paths()) == 3
    for hint in (photos / "everything" / "etc", photos / "me" / "cwd", photos / "2024" / "up" / "2024"):
        report, _ = library.sync_paths([str(hint)])
        assert report.new == 0, hint


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's 4,096-byte path limit")
def test_a_photo_whose_path_is_too_long_to_open_is_reported_not_passed_over(tmp_path: Path) -> None:
    photos, home = tmp_path / "photos", tmp_path / "library"
    write_shapes(photos, LABELS[:2], 14)
    deep = str(photos)
    while len(os.fsencode(deep)) < 4096 - 300:
        deep = os.path.join(deep, "d" * 200)
    os.makedirs(deep)
    name = "x" * 250 + ".jpg"  # the folder opens; the photo's path is past the limit
    fd = os.open(deep, os.O_RDONLY)
    try:
        with open(name, "wb", opener=lambda path, flags: os.open(path, flags, 0o600, dir_fd=fd)) as handle:
            handle.write((photos / os.listdir(photos)[0]).read_bytes())
    finally:
        os.close(fd)
    result = _cli("index", str(photos), home=home)
    assert result.returncode == 0, result.stderr
    assert "path too long for the system to open, so it is not in the library" in result.stderr and name in result.stderr


# -- 3. a model switch that fails ------------------------------------------------------------------


def test_a_model_switch_that_fails_leaves_the_library_exactly_as_it_was(tmp_path: Path) -> None:
    photos, home = tmp_path / "photos", tmp_path / "library"
    write_shapes(photos, LABELS[:4], 12)
    assert _cli("index", str(photos), "--quiet", home=home).returncode == 0
    with Library(home) as library:
        before = (library.catalog.get_meta("model"), library.catalog.counts(), library.catalog.last_change())
    env_offline = {"HF_HUB_OFFLINE": "1"}
    failed = subprocess.run(
        [sys.executable, "-m", "photosearch", "--library", str(home), "index", "--model", "ViT-B-32", "--quiet"],
        env=dict(os.environ, **env_offline),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1 and "ViT-B-32" in failed.stderr
    with Library(home) as library:
        assert library.model == "tiny-shapes"
        assert (library.catalog.get_meta("model"), library.catalog.counts(), library.catalog.last_change()) == before
    assert _cli("search", "a", "red", "circle", home=home).returncode == 0
    again = _cli("index", "--quiet", home=home)
    assert again.returncode == 0 and "indexed 0" in again.stdout


def test_switching_back_to_a_model_whose_vectors_are_kept_embeds_nothing(tmp_path: Path) -> None:
    from photosearch.core.library import import_model
    from photosearch.core.models.registry import TINY_MODEL_DIR

    photos, home = tmp_path / "photos", tmp_path / "library"
    write_shapes(photos, LABELS[:5], 13)
    import_model(home, TINY_MODEL_DIR / "tiny-shapes.safetensors", "tiny-shapes", "tiny-copy")
    with Library(home, model="tiny-shapes") as library:
        library.add_folder(photos)
        assert library.index()[1].indexed == 5
    with Library(home, model="tiny-copy") as library:  # a switch begun and left (a kill, a cancel)
        assert library.prepare_indexing() == 5
    with Library(home, model="tiny-shapes") as library:
        assert library.index()[1].indexed == 0, "its vectors are still in the catalog"
    with Library(home, model="tiny-copy") as library:  # a switch carried through, then back
        assert library.index()[1].indexed == 5
    (photos / sorted(os.listdir(photos))[0]).write_bytes((photos / sorted(os.listdir(photos))[1]).read_bytes())
    with Library(home, model="tiny-shapes") as library:
        assert library.index()[1].indexed == 1, "only the photo that changed meanwhile"


# -- 4. skips whose cause lies outside the file ---------------------------------------------------


@posix_modes
def test_a_photo_skipped_for_permissions_is_retried_on_the_next_scan(tmp_path: Path) -> None:
    prefix = _drop_permission_override()
    photos, home = tmp_path / "photos", tmp_path / "library"
    paths = write_shapes(photos, LABELS[:3], 14)
    paths[0].chmod(0)
    try:
        first_run = _run(prefix, home, "index", str(photos), "--quiet")
    finally:
        paths[0].chmod(0o644)
    assert first_run.returncode == 0, first_run.stderr
    with Library(home) as library:
        assert [s.reason for s in library.status().skipped] == ["no permission to read the file"]
    second = _run([], home, "index", "--quiet")
    assert "indexed 1, skipped 0" in second.stdout, second.stdout
    with Library(home) as library:
        assert library.status().skipped == () and len(library.catalog.indexed_paths()) == 3


def test_a_photo_skipped_for_its_content_waits_until_it_changes(library: Library, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    write_shapes(photos, LABELS[:1], 15)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    library.add_folder(photos)
    assert library.index()[1].skipped == 1
    assert library.index()[1].skipped == 0  # not decoded again while unchanged


# -- the live worker with the same hard cases -----------------------------------------------------


@posix_names
def test_the_worker_indexes_odd_names_beside_good_photos_and_never_restarts(tmp_path: Path) -> None:
    from worker_helpers import converge

    from photosearch.worker.client import WorkerClient
    from photosearch.worker.protocol import WorkerSettings

    photos = tmp_path / "photos"
    good = write_shapes(photos, LABELS[:3], 16)
    odd = Path(_bytes_name(photos, b"\xc9t\xe9 \x80.jpg"))
    synthetic.write_photo(odd, RED_CIRCLE, (320, 240), random.Random(17))
    with WorkerClient(WorkerSettings(home=str(tmp_path / "library"), model="tiny-shapes", threads=1)) as client:
        client.start()
        client.add_folder(photos)
        converge(client, photos, {*good, odd})
        late = write_shapes(photos / "later", LABELS[3:4], 18)  # copied in beside it, while watching
        converge(client, photos, {*good, odd, *late})
        assert odd.as_posix() in [hit.path for hit in client.search("a red circle", k=4).hits]
        assert client.restarts == 0


def test_a_worker_whose_model_cannot_load_keeps_the_library_and_does_not_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from photosearch.worker import protocol as p
    from photosearch.worker.client import WorkerClient
    from photosearch.worker.protocol import WorkerSettings

    photos, home = tmp_path / "photos", tmp_path / "library"
    write_shapes(photos, LABELS[:2], 19)
    assert _cli("index", str(photos), "--quiet", home=home).returncode == 0
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    problems: list[str] = []
    settings = WorkerSettings(home=str(home), model="ViT-B-32", threads=1)
    on_event = lambda e: problems.append(e.message) if isinstance(e, p.WorkerProblem) else None  # noqa: E731
    with WorkerClient(settings, on_event=on_event) as client:
        client.start()
        deadline = time.monotonic() + 60
        while (worker := client.status().worker) is not None and worker.state != "model unavailable":
            assert time.monotonic() < deadline, worker
            time.sleep(0.2)
        assert client.restarts == 0 and any("cannot load the model" in m for m in problems)
    with Library(home) as library:
        assert library.catalog.get_meta("model") == "tiny-shapes" and library.catalog.counts()["pending"] == 0


# -- 6. reading a library that cannot be written -------------------------------------------------


@posix_modes
def test_search_and_status_work_from_a_read_only_library(tmp_path: Path) -> None:
    prefix = _drop_permission_override()
    photos, home = tmp_path / "photos", tmp_path / "library"
    write_shapes(photos, LABELS[:4], 20)
    assert _cli("index", str(photos), "--quiet", home=home).returncode == 0
    subprocess.run(["chmod", "-R", "a-w", str(home)], check=True)  # a backup, mounted read-only
    try:
        search = _run(prefix, home, "search", "a", "red", "circle", "--json")
        status = _run(prefix, home, "status", "--json")
        index = _run(prefix, home, "index", "--quiet")
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(home)], check=True)
    assert search.returncode == 0 and len(json.loads(search.stdout)) == 4, search.stderr
    assert status.returncode == 0 and json.loads(status.stdout)["photos"]["indexed"] == 4, status.stderr
    assert index.returncode == 1 and len(index.stderr.strip().splitlines()) == 1 and "not writable" in index.stderr


def test_search_and_status_work_from_a_full_disk(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "16m") as disk:
        photos, home = tmp_path / "photos", disk / "library"
        write_shapes(photos, LABELS[:4], 21)
        assert _cli("index", str(photos), "--quiet", home=home).returncode == 0
        filler = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        for chunk in (1 << 16, 1):  # fill the disk to the last byte
            try:
                while True:
                    os.write(filler, b"\0" * chunk)
            except OSError:
                pass
        os.close(filler)
        search = _run([], home, "search", "a", "red", "circle", "--json")
        status = _run([], home, "status")
        write_shapes(photos, LABELS[4:5], 22)
        index = _run([], home, "index", "--quiet")
    assert search.returncode == 0 and len(json.loads(search.stdout)) == 4, search.stderr
    assert status.returncode == 0 and "4 indexed" in status.stdout, status.stderr
    assert index.returncode == 1 and len(index.stderr.strip().splitlines()) == 1, index.stderr


# -- 7. options and values that are not checked ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["search", "x", "-k", "0"], "-k/--top"),
        (["search", "x", "-k", "-1"], "-k/--top"),
        (["similar", "x.jpg", "--top", "many"], "-k/--top"),
        (["search", "x", "--cutoff", "nan"], "--cutoff"),
        (["search", "x", "--cutoff", "1.5"], "--cutoff"),
        (["--device", "bogus", "status"], "--device"),
        (["--threads", "0", "status"], "--threads"),
        (["status", "--threads", "100000"], "--threads"),
        (["index", "--workers", "-2"], "--workers"),
        (["index", "--batch-size", "0"], "--batch-size"),
        (["--library", "", "status"], "--library"),
        (["search", "9" * 400 + ":sunset"], "weight"),
        (["search", "-", "people"], "negative"),
    ],
)
def test_bad_options_are_usage_errors_that_name_the_option(args: list[str], names: str, tmp_path: Path) -> None:
    result = _cli(*args, home=tmp_path / "library")
    assert result.returncode == 2, result.stderr
    assert names in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("photosearch")


# -- 8. one bad row ------------------------------------------------------------------------------


def test_damaged_vectors_are_dropped_and_embedded_again(tmp_path: Path) -> None:
    import sqlite3

    import numpy as np

    photos, home = tmp_path / "photos", tmp_path / "library"
    paths = write_shapes(photos, LABELS[:5], 23)
    assert _cli("index", str(photos), "--quiet", home=home).returncode == 0
    with sqlite3.connect(home / "catalog.sqlite3") as db:
        labels = [row[0] for row in db.execute("SELECT id FROM embeddings ORDER BY id")]
        db.execute("UPDATE embeddings SET vector=? WHERE id=?", (b"\x01\x02\x03", labels[0]))  # wrong length
        db.execute("UPDATE embeddings SET vector=? WHERE id=?", (np.full(64, np.nan, np.float32).tobytes(), labels[1]))
    for snapshot in (home / "index").glob("*.hnsw"):
        snapshot.unlink()  # so the index is rebuilt from the catalog
    status = _cli("status", "--json", home=home)
    assert status.returncode == 0, status.stderr
    search = _cli("search", "a", "red", "circle", "-k", "5", "--json", home=home)
    assert search.returncode == 0 and len(json.loads(search.stdout)) == 3, search.stderr  # a reader searches around them
    assert _cli("similar", str(paths[0]), home=home).returncode == 0  # its damaged vector is not used
    index = _cli("index", "--quiet", home=home)
    assert index.returncode == 0 and "indexed 2" in index.stdout, (index.stdout, index.stderr)
    after = json.loads(_cli("status", "--json", home=home).stdout)
    assert after["index"]["healthy"] and after["index"]["vectors"] == 5 and after["photos"]["indexed"] == 5
    assert "2 damaged vectors dropped" in after["index"]["note"]


# -- 9. a damaged catalog ------------------------------------------------------------------------


def test_a_damaged_catalog_is_reported_and_restored_from_its_backup(tmp_path: Path) -> None:
    photos, home = tmp_path / "photos", tmp_path / "library"
    write_shapes(photos, LABELS[:4], 24)
    assert _cli("index", str(photos), "--quiet", home=home).returncode == 0
    assert (home / "catalog.backup.sqlite3").is_file(), "indexing keeps a verified backup"
    status = json.loads(_cli("status", "--json", home=home).stdout)
    assert status["catalog"]["checked"] and status["catalog"]["ok"]
    damage_a_page(home / "catalog.sqlite3", "photos")
    status = _cli("status", home=home)
    assert "photosearch repair" in status.stdout + status.stderr and "healthy" not in status.stdout.split("catalog:")[-1]
    search = _cli("search", "a", "red", "circle", home=home)
    assert search.returncode == 1 and "damaged" in search.stderr and "photosearch repair" in search.stderr
    assert len(search.stderr.strip().splitlines()) == 1
    repaired = _cli("repair", home=home)
    assert repaired.returncode == 0 and "restored the catalog from its backup" in repaired.stdout, repaired.stderr
    assert list(home.glob("catalog.damaged-*.sqlite3")), "the damaged file is kept"
    assert _cli("index", "--quiet", home=home).returncode == 0
    rows = json.loads(_cli("search", "a", "red", "circle", "-k", "4", "--json", home=home).stdout)
    assert len(rows) == 4
    assert "nothing to repair" in _cli("repair", home=home).stdout


def test_damage_that_status_can_read_around_is_one_line_that_says_what_to_do(tmp_path: Path) -> None:
    photos, home = tmp_path / "photos", tmp_path / "library"
    write_shapes(photos, LABELS[:3], 23)
    assert _cli("index", str(photos), "--quiet", home=home).returncode == 0
    damage_a_page(home / "catalog.sqlite3", "photos_size")  # an index: counting reads around it
    status = _cli("status", "--json", home=home)
    assert status.returncode == 0, status.stderr
    catalog = json.loads(status.stdout)["catalog"]
    assert not catalog["ok"] and "photosearch repair" in catalog["note"]
    assert "\n" not in catalog["note"], "SQLite's check spans lines; the note does not"


@pytest.mark.parametrize("emptying", ["zero bytes", "header only", "deleted"])
def test_an_emptied_catalog_is_damage_not_a_new_library(tmp_path: Path, emptying: str) -> None:
    """A catalog emptied (a full disk, a bad sync tool, a careless user) in a library that has a
    backup, an index and thumbnails: read-only commands write nothing and say it is damaged,
    no backup is replaced by the empty library, and repair brings the library back."""
    photos, home = tmp_path / "photos", tmp_path / "library"
    write_shapes(photos, LABELS[:4], 25)
    assert _cli("index", str(photos), "--quiet", home=home).returncode == 0
    catalog, backup = home / "catalog.sqlite3", home / "catalog.backup.sqlite3"
    good_backup = backup.read_bytes()
    for sidecar in (home / "catalog.sqlite3-wal", home / "catalog.sqlite3-shm"):
        sidecar.unlink(missing_ok=True)
    if emptying == "deleted":
        catalog.unlink()
    elif emptying == "zero bytes":
        catalog.write_bytes(b"")
    else:
        catalog.unlink()
        db = sqlite3.connect(catalog)  # SQLite's header and an empty schema page: nothing in it
        db.execute("CREATE TABLE scratch (x)")
        db.execute("DROP TABLE scratch")
        db.commit()
        db.execute("VACUUM")
        db.close()
        assert 0 < catalog.stat().st_size <= 8192
    before = catalog.read_bytes() if catalog.exists() else None
    for command in (("status",), ("status", "--json"), ("search", "a", "red", "circle"), ("index", "--quiet")):
        done = _cli(*command, home=home)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "damaged, not new" in done.stderr, done.stderr
        assert "photosearch repair" in done.stderr
        assert (catalog.read_bytes() if catalog.exists() else None) == before, f"{command} wrote to the catalog"
    assert backup.read_bytes() == good_backup
    repaired = _cli("repair", home=home)
    assert repaired.returncode == 0 and "restored the catalog from its backup" in repaired.stdout, repaired.stderr
    rows = json.loads(_cli("search", "a", "red", "circle", "-k", "4", "--json", home=home).stdout)
    assert len(rows) == 4


def test_a_catalog_without_photos_never_replaces_a_backup_that_has_some(library: Library, tmp_path: Path) -> None:
    from photosearch.core import maintenance

    write_shapes(tmp_path / "photos", LABELS[:2], 26)
    library.add_folder(tmp_path / "photos")
    library.index()
    assert library.maybe_back_up(every_s=0)
    kept = library.layout.backup.read_bytes()
    library.remove_folder(tmp_path / "photos")  # the user removed every folder: nothing left
    assert not maintenance.back_up_when_due(library.catalog, library.layout, every_s=0)
    assert library.layout.backup.read_bytes() == kept


def test_a_catalog_far_smaller_than_its_backup_keeps_the_larger_copy_aside(library: Library, tmp_path: Path) -> None:
    """Two folders, then one: maybe the user removed it, maybe not. The next day's backup does
    not silently replace the one that holds more; that one is kept aside, and repair uses it
    when the newer backup cannot be."""
    from photosearch.core import maintenance

    for name, seed in (("a", 27), ("b", 28)):
        write_shapes(tmp_path / name, LABELS[:3], seed)
        library.add_folder(tmp_path / name)
    library.index()
    assert library.maybe_back_up(every_s=0)
    larger = library.layout.backup.read_bytes()
    library.remove_folder(tmp_path / "b")
    assert maintenance.back_up_when_due(library.catalog, library.layout, every_s=0)
    assert library.layout.previous_backup.read_bytes() == larger
    assert library.maybe_back_up(every_s=0)  # the same size again: an ordinary backup
    assert library.layout.previous_backup.read_bytes() == larger


def test_a_damaged_catalog_never_replaces_a_good_backup(library: Library, tmp_path: Path) -> None:
    write_shapes(tmp_path / "photos", LABELS[:2], 25)
    library.add_folder(tmp_path / "photos")
    library.index()
    backup = library.home / "catalog.backup.sqlite3"
    good = backup.read_bytes()
    library.close()
    damage_a_page(library.home / "catalog.sqlite3", "embeddings")
    with Library(library.home, model="tiny-shapes") as damaged:
        damaged.claim_writer()
        with pytest.raises(CatalogDamaged, match="failed its check, so it is not backed up"):
            damaged.maybe_back_up(every_s=0)
    assert backup.read_bytes() == good


# -- 10. noise on the terminal -------------------------------------------------------------------


def test_library_warnings_go_to_the_log_not_the_terminal(tmp_path: Path) -> None:
    from conftest import corpus_dir

    photos, home, logs = tmp_path / "photos", tmp_path / "library", tmp_path / "logs"
    shutil.copytree(corpus_dir("tricky"), photos)
    env = dict(os.environ, PHOTOSEARCH_HOME=str(home), PHOTOSEARCH_LOG_DIR=str(logs))
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "photosearch", *args], env=env, capture_output=True, text=True, timeout=300
    )
    index = run("index", str(photos), "--quiet")
    assert index.returncode == 0, index.stderr
    assert [line for line in index.stderr.splitlines() if not line.startswith("library folder: ")] == []
    outside = tmp_path / "query.jpg"
    synthetic.write_photo(outside, RED_CIRCLE, (640, 480), random.Random(26))
    similar = run("similar", str(outside))  # decoded and embedded on the spot
    assert similar.returncode == 0 and similar.stderr == "", similar.stderr
    status = run("status")
    assert status.returncode == 0 and status.stderr == ""
    assert "skipped files:" in status.stdout  # the broken ones are reported, one line each


# -- 11. decoding memory shared by all decode threads ---------------------------------------------


def test_the_memory_budget_is_never_exceeded_and_an_oversize_picture_runs_alone() -> None:
    import threading

    from photosearch.core.memory_budget import MemoryBudget

    budget = MemoryBudget(100)
    held = [0]
    most = [0]
    lock = threading.Lock()

    def decode(cost: int) -> None:
        with budget.reserve(cost):
            with lock:
                held[0] += min(cost, 100)
                most[0] = max(most[0], held[0])
            time.sleep(0.002)
            with lock:
                held[0] -= min(cost, 100)

    rng = random.Random(27)
    threads = [threading.Thread(target=decode, args=(rng.choice((5, 30, 60, 250)),)) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(t.is_alive() for t in threads)
    assert 0 < most[0] <= 100 and budget.peak_reserved <= 100


def test_large_photos_take_turns_within_the_decode_budget(tmp_path: Path) -> None:
    from PIL import Image

    from photosearch.core.catalog import Catalog
    from photosearch.core.images import decode_cost
    from photosearch.core.index.store import IndexStore
    from photosearch.core.models.embedder import Embedder
    from photosearch.core.models.registry import get_model
    from photosearch.core.pipeline import Indexer
    from photosearch.core.scan import sync_library

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):
        Image.new("RGB", (2000, 1500), (40 * i, 90, 200)).save(photos / f"big-{i}.png")
    one = decode_cost(2000, 1500, "RGB")
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    catalog.add_folder(str(photos))
    sync_library(catalog)
    embedder = Embedder(get_model("tiny-shapes"), device="cpu", threads=1)
    store = IndexStore(catalog, tmp_path / "index", "tiny-shapes", embedder.dim)
    indexer = Indexer(catalog, store, embedder, "tiny-shapes", batch_size=2, decode_workers=3, decode_budget=one + one // 2)
    report = indexer.run()
    assert report.indexed == 4
    assert indexer.budget.peak_reserved == one, "three threads, but one large decode at a time"
    catalog.close()


def test_a_query_photo_that_was_never_there_is_named_so(library: Library, tmp_path: Path) -> None:
    """A mistyped or never-existing query photo said "file disappeared before it could be read"."""
    from photosearch.core.query import QueryError

    with pytest.raises(QueryError, match="no such photo"):
        library.search("", images=[tmp_path / "never-was.jpg"])
