"""Catalog + sync + index store on real files: diffs, moves, snapshots, corruption, rebuilds."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from photosearch.core.catalog import Catalog, CatalogError, ChangedPhoto, Embedded, NewPhoto
from photosearch.core.catalog_schema import SCHEMA_VERSION
from photosearch.core.index.store import IndexStore
from photosearch.core.library import Library
from photosearch.core.scan import walk_photos
from photosearch.records import IndexHealth
from photosearch.samples import synthetic
from tests.conftest import write_shapes

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model

LABELS = synthetic.shape_labels()[:6]


def _embed_pending(catalog: Catalog, model: str = "m", dim: int = 4) -> None:
    rng = np.random.default_rng(0)
    items = [Embedded(p, rng.standard_normal(dim).astype(np.float32), f"fp{p.id}", 10, 10, None) for p in catalog.pending()]
    catalog.commit_results(model, items, [])


def test_schema_is_versioned_and_newer_schemas_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    Catalog(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(CatalogError, match="newer photosearch"):
        Catalog(path)


def test_corrupt_catalog_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CatalogError, match=r"is damaged.*photosearch repair"):
        Catalog(path)


def test_change_log_follows_embeddings_in_the_same_transaction(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite3")
    folder = catalog.add_folder(str(tmp_path))
    catalog.apply_scan([NewPhoto(folder.id, str(tmp_path / "a.jpg"), 1, 1)], [], [], [])
    _embed_pending(catalog)
    assert [op for _, _, op in catalog.changes_since("m", 0)] == ["add"]
    ((pid, _),) = [(p.id, p) for p in catalog.photos_in_folder(folder.id).values()]
    catalog.apply_scan([], [ChangedPhoto(pid, 2, 2)], [], [])  # changed: pending again, old vector kept meanwhile
    assert catalog.counts()["pending"] == 1 and catalog.embedding_count("m") == 1
    _embed_pending(catalog)
    ops = [op for _, _, op in catalog.changes_since("m", 0)]
    assert ops == ["add", "remove", "add"]  # a new label, never the old one reused
    labels = [label for _, label, _ in catalog.changes_since("m", 0)]
    assert labels[2] > labels[0]


def test_walk_skips_hidden_and_system_folders_and_symlink_loops(tmp_path: Path) -> None:
    write_shapes(tmp_path / "a", LABELS[:1], 1)
    write_shapes(tmp_path / ".hidden", LABELS[:1], 2)
    write_shapes(tmp_path / "@eaDir", LABELS[:1], 3)
    (tmp_path / "a" / "notes.txt").write_text("not a photo")
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    found = [Path(p).relative_to(tmp_path).parts[0] for p, _, _ in walk_photos(tmp_path)]
    assert found == ["a"]


def test_a_library_inside_its_own_photo_folder_never_indexes_itself(tmp_path: Path) -> None:
    """Thumbnails are JPEGs: a library kept in one of its own folders (or any photosearch library
    found in a photo folder) would index its thumbnails, which make more thumbnails, without end."""
    photos = tmp_path / "Pictures"
    write_shapes(photos / "2024", LABELS[:3], 30)
    other = Library(photos / "someone else's library", model="tiny-shapes")  # found inside a folder
    other.thumbnails.write(1, (photos / "2024").iterdir().__next__().read_bytes())
    other.close()
    with Library(photos / "photosearch library", model="tiny-shapes") as library:
        library.add_folder(photos)
        for _ in range(3):  # each run writes thumbnails into the folder it scans
            library.index()
            indexed = library.catalog.indexed_paths()
            assert sorted(Path(p).relative_to(photos).parts[0] for p in indexed) == ["2024"] * 3
        assert len(list(library.thumbnails.folder.rglob("*.jpg"))) == 3
        thumbnail = next(library.thumbnails.folder.rglob("*.jpg"))
        report, _ = library.sync_paths([str(thumbnail), str(thumbnail.parent)])  # what a watcher reports
        assert report.new == 0 and len(library.catalog.indexed_paths()) == 3


def test_adding_a_folder_that_holds_the_library_says_the_library_is_left_out(tmp_path: Path) -> None:
    photos = tmp_path / "Pictures"
    write_shapes(photos, LABELS[:2], 31)
    home = photos / "library"
    command = [sys.executable, "-m", "photosearch", "--library", str(home), "index", str(photos), "--quiet"]
    for _ in range(2):
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert f"the library itself ({home}) is inside it and is left out" in done.stderr
    assert "indexed 0," in done.stdout and "new 0," in done.stdout, "the second run found nothing new: no thumbnails"


def test_sync_new_changed_moved_removed_and_second_run_does_nothing(library: Library, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    paths = write_shapes(photos, LABELS, 5)
    library.add_folder(photos)
    _, first = library.index()
    assert first.indexed == 6
    sync, second = library.index()
    assert sync.touched == 0 and sync.unchanged == 6 and second.indexed == 0 and second.skipped == 0

    vector_before = library.catalog.vector_for_path("tiny-shapes", str(paths[0]))
    moved_to = photos / "sub" / "renamed.jpg"
    moved_to.parent.mkdir()
    shutil.move(paths[0], moved_to)
    paths[1].unlink()
    write_shapes(photos / "new", LABELS[:1], 9)
    paths[2].write_bytes(paths[3].read_bytes())  # edited in place
    sync, report = library.index()
    assert (sync.new, sync.changed, sync.moved, sync.removed) == (1, 1, 1, 1)
    assert report.indexed == 2  # the new one and the edited one: the moved photo is not decoded
    vector_after = library.catalog.vector_for_path("tiny-shapes", str(moved_to))
    assert vector_before is not None and vector_after is not None and np.array_equal(vector_before, vector_after)
    indexed = set(library.catalog.indexed_paths())
    assert str(moved_to) in indexed and str(paths[1]) not in indexed and len(indexed) == 6
    assert library.status().index == IndexHealth(6, library.store.index.deleted, True, library.store.note)


def test_unreadable_photos_are_recorded_and_retried_only_when_changed(library: Library, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    write_shapes(photos, LABELS[:2], 6)
    bad = photos / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a complete jpeg")
    library.add_folder(photos)
    _, report = library.index()
    assert (report.indexed, report.skipped) == (2, 1)
    status = library.status()
    assert [s.path for s in status.skipped] == [str(bad)]
    assert status.skipped[0].reason
    _, again = library.index()
    assert again.skipped == 0 and again.indexed == 0  # not retried while unchanged
    shutil.copy(write_shapes(tmp_path / "good", LABELS[2:3], 7)[0], bad)
    _, fixed = library.index()
    assert fixed.indexed == 1 and library.status().skipped == ()


def test_missing_folder_goes_offline_and_keeps_its_photos(library: Library, tmp_path: Path) -> None:
    photos = tmp_path / "drive"
    write_shapes(photos, LABELS[:3], 8)
    library.add_folder(photos)
    library.index()
    photos.rename(tmp_path / "unplugged")
    sync, _ = library.index()
    assert sync.offline == (str(photos),) and sync.removed == 0
    assert [(f.path, f.state) for f in library.status().folders] == [(str(photos), "offline")]
    assert len(library.catalog.indexed_paths()) == 3
    (tmp_path / "unplugged").rename(photos)
    sync, _ = library.index()
    assert sync.unchanged == 3 and library.status().folders[0].state == "online"


def test_remove_folder_removes_its_photos(library: Library, tmp_path: Path) -> None:
    write_shapes(tmp_path / "a", LABELS[:2], 1)
    write_shapes(tmp_path / "b", LABELS[2:5], 2)
    library.add_folder(tmp_path / "a")
    library.add_folder(tmp_path / "b")
    library.index()
    assert library.remove_folder(tmp_path / "a") == 2
    assert len(library.store.index) == 3
    assert all("/b/" in r.path for r in library.search("a red circle", k=10))


def test_index_snapshot_replay_and_rebuild(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite3")
    folder = catalog.add_folder(str(tmp_path))
    catalog.apply_scan([NewPhoto(folder.id, str(tmp_path / f"{i}.jpg"), 1, 1) for i in range(50)], [], [], [])
    _embed_pending(catalog)
    store = IndexStore(catalog, tmp_path / "index", "m", 4)
    assert store.save() and len(store.index) == 50
    # more changes after the snapshot (as if the process was killed before the next save)
    rows = list(catalog.photos_in_folder(folder.id).values())
    catalog.apply_scan([NewPhoto(folder.id, str(tmp_path / "x.jpg"), 1, 1)], [], [], [rows[0].id, rows[1].id])
    _embed_pending(catalog)
    reopened = IndexStore(catalog, tmp_path / "index", "m", 4)
    assert reopened.note == "loaded from snapshot" and len(reopened.index) == 49
    assert reopened.health().healthy
    # a damaged snapshot is rebuilt from the catalog, losing nothing
    snapshot = next((tmp_path / "index").glob("*.hnsw"))
    snapshot.write_bytes(snapshot.read_bytes()[:-10])
    rebuilt = IndexStore(catalog, tmp_path / "index", "m", 4)
    assert rebuilt.note.startswith("rebuilt") and len(rebuilt.index) == 49
    snapshot.unlink()
    assert len(IndexStore(catalog, tmp_path / "index", "m", 4).index) == 49


def test_one_writer_per_library_and_readers_never_save(library: Library, tmp_path: Path) -> None:
    from photosearch.core.writer_lock import LibraryBusy

    write_shapes(tmp_path / "p", LABELS[:3], 4)
    library.add_folder(tmp_path / "p")
    library.index()
    saved = library.catalog.index_state("tiny-shapes")
    second = Library(library.home, model="tiny-shapes")
    try:
        with pytest.raises(LibraryBusy, match="another photosearch process"):
            second.index()
        assert len(second.search("a red circle", k=3)) == 3  # readers are welcome
    finally:
        second.close()
    assert library.catalog.index_state("tiny-shapes") == saved  # the reader wrote no snapshot
