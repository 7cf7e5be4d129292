"""`repair` mends damage and nothing else, keeps what the damaged file still holds, and says so.

Real catalogs, real damage (garbage over a page, as a failing disk writes it), real permissions
(root's override dropped with setpriv), the real command line.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import damage_a_page, write_shapes

from photosearch.core.catalog import Catalog
from photosearch.core.catalog_schema import MIGRATIONS, SCHEMA_VERSION
from photosearch.core.library import Library
from photosearch.samples import synthetic

pytestmark = pytest.mark.usefixtures("tiny_model")
LABELS = synthetic.shape_labels()


def _cli(home: Path, *args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    command = [*prefix, sys.executable, "-m", "photosearch", "--library", str(home), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def _aside(home: Path) -> list[Path]:
    return sorted(home.glob("catalog.damaged-*"))


def _library_with_a_backup(tmp_path: Path) -> tuple[Path, Path]:
    """A library of one indexed folder, backed up; returns its home and photo folder."""
    home, photos = tmp_path / "library", tmp_path / "photos"
    write_shapes(photos / "kept", LABELS[:3], 40)
    with Library(home) as library:
        library.add_folder(photos)
        library.index()
        assert library.maybe_back_up(every_s=0)
    return home, photos


def test_a_catalog_from_an_older_release_is_not_damage(tmp_path: Path) -> None:
    home = tmp_path / "library"
    home.mkdir()
    db = sqlite3.connect(home / "catalog.sqlite3")
    for version in range(1, SCHEMA_VERSION):  # the schema the previous release wrote
        db.executescript(f"{MIGRATIONS[version]};PRAGMA user_version={version};")
    db.execute("INSERT INTO folders(path, added_at) VALUES(?, 0)", (str(tmp_path / "photos"),))
    db.commit()
    db.close()
    before = (home / "catalog.sqlite3").read_bytes()
    repaired = _cli(home, "repair")
    assert repaired.returncode == 0 and "sound: nothing to repair" in repaired.stdout and "older" in repaired.stdout
    assert (home / "catalog.sqlite3").read_bytes() == before and not _aside(home)
    status = _cli(home, "status", "--json")  # and it opens, upgraded, with its folder
    assert status.returncode == 0, status.stderr
    assert [f["path"] for f in json.loads(status.stdout)["folders"]] == [str(tmp_path / "photos")]


def test_a_catalog_from_a_newer_release_is_left_alone_with_the_reason(tmp_path: Path) -> None:
    home, _ = _library_with_a_backup(tmp_path)
    with sqlite3.connect(home / "catalog.sqlite3") as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    before = (home / "catalog.sqlite3").read_bytes()
    repaired = _cli(home, "repair")
    assert repaired.returncode == 1 and "newer photosearch" in repaired.stderr and "changes nothing" in repaired.stderr
    assert len(repaired.stderr.strip().splitlines()) == 1
    assert (home / "catalog.sqlite3").read_bytes() == before and not _aside(home)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_a_catalog_it_may_not_read_is_left_alone_with_the_reason(tmp_path: Path) -> None:
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: file modes do not apply")
    prefix = ("setpriv", "--bounding-set=-dac_override,-dac_read_search") if os.geteuid() == 0 else ()
    home, _ = _library_with_a_backup(tmp_path)
    catalog = home / "catalog.sqlite3"
    before = catalog.read_bytes()
    catalog.chmod(0)
    try:
        repaired = _cli(home, "repair", prefix=prefix)
        status = _cli(home, "status", prefix=prefix)
    finally:
        catalog.chmod(0o600)
    assert status.returncode == 1 and "no permission to read the catalog" in status.stderr, status.stderr
    assert repaired.returncode == 1 and "no permission to read it" in repaired.stderr, repaired.stderr
    assert "mode 0000" in repaired.stderr and "changes nothing" in repaired.stderr
    assert catalog.read_bytes() == before and not _aside(home)


def test_repair_keeps_what_the_damaged_catalog_still_holds_and_says_what(tmp_path: Path) -> None:
    """Since the backup the user added a folder, removed one, excluded a subfolder and chose the
    model: the backup alone would undo all four. The damage lies in the photos' pages; the
    rest is read back, merged, and the report names what was kept and what was lost."""
    home, photos = _library_with_a_backup(tmp_path)
    write_shapes(tmp_path / "later", LABELS[3:5], 41)
    write_shapes(tmp_path / "dropped", LABELS[5:6], 42)
    with Library(home) as library:
        library.add_folder(tmp_path / "dropped")
        assert library.maybe_back_up(every_s=0)  # the backup has it...
        library.remove_folder(tmp_path / "dropped")  # ...the user removed it later
        library.add_folder(tmp_path / "later")
        library.set_excluded([photos / "kept"])
        library.index()
    with sqlite3.connect(home / "catalog.backup.sqlite3") as db:
        db.execute("DELETE FROM meta WHERE key='model'")  # a backup from before the model was chosen
    db.close()
    damage_a_page(home / "catalog.sqlite3", "photos")
    repaired = _cli(home, "repair")
    assert repaired.returncode == 0, repaired.stderr
    report = repaired.stdout
    assert "restored the catalog from its backup" in report
    assert "kept: 2 folders read from the damaged catalog, 1 of them added since the backup, 1 removed since" in report
    assert "kept: 1 excluded folders" in report and "kept: the model choice (tiny-shapes)" in report
    with Library(home) as library:
        assert {f.path for f in library.folders()} == {str(photos), str(tmp_path / "later")}
        assert library.catalog.excluded() == {str(photos / "kept")}
        assert library.catalog.get_meta("model") == "tiny-shapes"
    index = _cli(home, "index", "--quiet")
    assert index.returncode == 0 and "indexed 2" in index.stdout, (index.stdout, index.stderr)


def test_without_a_backup_repair_starts_from_what_the_damaged_file_holds(tmp_path: Path) -> None:
    home, photos = _library_with_a_backup(tmp_path)
    (home / "catalog.backup.sqlite3").unlink()
    with Library(home) as library:
        library.set_excluded([photos / "kept"])
    damage_a_page(home / "catalog.sqlite3", "embeddings")
    repaired = _cli(home, "repair")
    assert repaired.returncode == 0 and "no usable backup: started a new catalog" in repaired.stdout, repaired.stderr
    assert "kept: 1 excluded folders" in repaired.stdout and "kept: the model choice (tiny-shapes)" in repaired.stdout
    with Library(home) as library:
        assert [f.path for f in library.folders()] == [str(photos)] and library.catalog.excluded() == {str(photos / "kept")}


def test_the_damaged_catalog_is_kept_with_its_write_ahead_log(tmp_path: Path) -> None:
    """A crash leaves the newest transactions in the -wal file beside the catalog: the damaged
    file is set aside with it, and what only the log holds (a folder added last) is read back."""
    home, photos = _library_with_a_backup(tmp_path)
    crashed = tmp_path / "crashed"
    damage_a_page(home / "catalog.sqlite3", "embeddings")  # in the main file, before the crash
    catalog = Catalog(home / "catalog.sqlite3")
    catalog.add_folder(str(tmp_path / "added-last"))  # only in the write-ahead log
    shutil.copytree(home, crashed)  # the files as a crash leaves them, the log not yet merged
    catalog.close()
    assert (crashed / "catalog.sqlite3-wal").stat().st_size > 0
    repaired = _cli(crashed, "repair")
    assert repaired.returncode == 0, repaired.stderr
    aside = _aside(crashed)
    assert [p.name.rsplit(".sqlite3", 1)[1] for p in aside] == ["", "-shm", "-wal"]
    assert "kept: 2 folders read from the damaged catalog, 1 of them added since the backup" in repaired.stdout
    with Library(crashed) as library:
        assert {f.path for f in library.folders()} == {str(photos), str(tmp_path / "added-last")}


def test_status_says_when_the_backup_is_unusable_and_reading_it_leaves_nothing_beside_it(tmp_path: Path) -> None:
    home, _ = _library_with_a_backup(tmp_path)
    status = json.loads(_cli(home, "status", "--json").stdout)
    assert status["catalog"]["backup"] and "unusable" not in status["catalog"]["backup"]
    assert sorted(p.name for p in home.glob("catalog.backup*")) == ["catalog.backup.sqlite3"]
    backup = home / "catalog.backup.sqlite3"
    damage_a_page(backup, "folders")
    status = json.loads(_cli(home, "status", "--json").stdout)
    assert "unusable" in status["catalog"]["backup"]
    backup.write_bytes(b"")
    shown = _cli(home, "status")
    assert "which is unusable" in shown.stdout, shown.stdout
    assert sorted(p.name for p in home.glob("catalog.backup*")) == ["catalog.backup.sqlite3"]


def test_a_catalog_whose_log_was_lost_is_not_called_old(tmp_path: Path) -> None:
    """A new catalog's schema lives in its write-ahead log until the first checkpoint: a copy
    without the log holds SQLite's header alone, which is not "an older release"."""
    from photosearch.core.catalog import CatalogDamaged

    catalog = Catalog(tmp_path / "live" / "catalog.sqlite3")
    catalog.add_folder(str(tmp_path / "photos"))
    (tmp_path / "copy").mkdir()
    shutil.copyfile(catalog.path, tmp_path / "copy" / "catalog.sqlite3")  # the log left behind
    catalog.close()
    with pytest.raises(CatalogDamaged, match="write-ahead log"):
        Catalog(tmp_path / "copy" / "catalog.sqlite3", read_only=True)


def test_a_worker_says_once_that_its_catalog_cannot_be_backed_up_and_does_not_copy_it_again(tmp_path: Path) -> None:
    """A damaged catalog without a backup: the idle worker once tried to back it up every half
    second (copying all of it each time) while `watch` said "up to date", and told no one."""
    from worker_helpers import make_photo

    from photosearch.worker import protocol as p
    from photosearch.worker.client import WorkerClient
    from photosearch.worker.protocol import WorkerSettings

    home, photos = tmp_path / "library", tmp_path / "photos"
    for i in range(3):
        make_photo(photos / f"{i}.jpg", i)
    with Library(home) as library:
        library.add_folder(photos)
        library.index()
    (home / "catalog.backup.sqlite3").unlink()
    damage_a_page(home / "catalog.sqlite3", "photos_size")  # an index that searching does not read
    events: list[p.Event] = []
    with WorkerClient(WorkerSettings(home=str(home), threads=1), on_event=events.append).start() as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(isinstance(e, p.WorkerProblem) for e in list(events)):
            time.sleep(0.2)
        time.sleep(3)  # six idle turns of the writer
        said = [e.message for e in list(events) if isinstance(e, p.WorkerProblem | p.WorkerLog) and "backed up" in e.message]
        assert len(said) == 1 and "photosearch repair" in said[0], said
        assert len(client.search("a red circle", k=3).hits) == 3
    assert not (home / "catalog.backup.sqlite3").exists()
