"""The hnswlib wrapper: inputs that would crash hnswlib are refused, snapshots are verified."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from photosearch.core.index import huge_pages
from photosearch.core.index.vectors import EXACT_SEARCH_LIMIT, IndexCorrupt, VectorIndex


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_bad_inputs_raise_instead_of_crashing() -> None:
    index = VectorIndex(8)
    good = np.ones((1, 8), dtype=np.float32)
    with pytest.raises(ValueError, match="dimension"):
        index.search(np.ones(7, dtype=np.float32), 1)  # shorter than dim: segfaults raw hnswlib
    with pytest.raises(ValueError, match="dimension"):
        index.add([1], np.ones((1, 9), dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        index.add([1], np.full((1, 8), np.nan, dtype=np.float32))
    with pytest.raises(ValueError, match="integers"):
        index.add(np.array([3.7]), good)  # hnswlib would silently truncate to label 3
    with pytest.raises(ValueError, match=">= 0"):
        index.add([-1], good)
    with pytest.raises(ValueError, match="floating"):
        index.add([1], np.ones((1, 8), dtype=np.int32))
    with pytest.raises(ValueError, match="duplicate"):
        index.add([1, 1], np.ones((2, 8), dtype=np.float32))
    assert len(index.search(good, 10)[0]) == 0  # empty index: no results, no crash


def test_k_is_clamped_and_removed_labels_never_return() -> None:
    rng = np.random.default_rng(0)
    index = VectorIndex(16)
    data = _unit(rng, 50, 16)
    index.add(np.arange(50), data)
    assert index.remove([3, 4, 999]) == 2
    labels, scores = index.search(data[3], 100)
    assert len(labels) == 48 and 3 not in labels and 4 not in labels
    assert np.all(np.diff(scores) <= 1e-6)


def test_hnsw_agrees_with_exact_search_and_grows_past_capacity() -> None:
    rng = np.random.default_rng(1)
    index = VectorIndex(32, capacity=16)
    data = _unit(rng, EXACT_SEARCH_LIMIT + 2000, 32)
    for start in range(0, len(data), 1000):
        index.add(np.arange(start, min(start + 1000, len(data))), data[start : start + 1000])
    assert len(index) == len(data)
    recall = []
    for q in _unit(rng, 20, 32):
        approx, _ = index.search(q, 10)
        exact, _ = index.search(q, 10, exact=True)
        recall.append(len(set(approx) & set(exact)) / 10)
    assert np.mean(recall) >= 0.95


def test_filtered_search_is_exact_over_the_subset() -> None:
    rng = np.random.default_rng(2)
    index = VectorIndex(8)
    data = _unit(rng, 100, 8)
    index.add(np.arange(100), data)
    labels, _ = index.search(data[0], 5, allowed=np.array([10, 20, 30, 0]))
    assert set(labels) == {0, 10, 20, 30} and labels[0] == 0


def test_compaction_keeps_live_vectors_only() -> None:
    rng = np.random.default_rng(3)
    index = VectorIndex(8)
    data = _unit(rng, 2000, 8)
    index.add(np.arange(2000), data)
    index.remove(np.arange(0, 2000, 2))
    assert index.needs_compaction()
    fresh = index.compacted()
    assert len(fresh) == 1000 and fresh.deleted == 0
    labels, scores = fresh.search(data[1], 1)
    assert labels[0] == 1 and scores[0] > 0.999


def test_per_query_ef_widens_the_search_and_compaction_keeps_the_graph_settings() -> None:
    rng = np.random.default_rng(5)
    index = VectorIndex(32, capacity=6000, m=8, ef_construction=40, ef=10)
    data = _unit(rng, 6000, 32)
    index.add(np.arange(6000), data)
    queries = _unit(rng, 40, 32)

    def recall(ef: int | None) -> float:
        hits = 0
        for q in queries:
            exact, _ = index.search(q, 10, exact=True)
            approx, _ = index.search(q, 10, ef=ef)
            hits += len(set(approx.tolist()) & set(exact.tolist()))
        return hits / (10 * len(queries))

    narrow, wide = recall(None), recall(400)
    assert wide >= 0.99 and narrow < 0.8 and index.ef == 10  # measured: 0.37 and 0.9975
    index.remove(np.arange(0, 6000, 2))
    fresh = index.compacted()
    assert (fresh._index.M, fresh._index.ef_construction, fresh.ef) == (8, 40, 10)


def test_save_load_roundtrip_and_corruption_is_detected(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    index = VectorIndex(8)
    data = _unit(rng, 300, 8)
    index.add(np.arange(300), data)
    index.remove([7])
    path = tmp_path / "a.hnsw"
    size, sha = index.save(path)
    alive = np.setdiff1d(np.arange(300), [7])
    loaded = VectorIndex.load(path, 8, size, sha, alive, expected_deleted=1)
    assert len(loaded) == 299 and not loaded.contains(7)
    assert loaded.search(data[5], 1)[0][0] == 5
    with pytest.raises(IndexCorrupt, match="vectors the catalog"):
        VectorIndex.load(path, 8, size, sha, alive, expected_deleted=0)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(IndexCorrupt, match="checksum"):
        VectorIndex.load(path, 8, size, sha, alive, expected_deleted=1)
    path.write_bytes(bytes(raw[:100]))
    with pytest.raises(IndexCorrupt, match="bytes"):
        VectorIndex.load(path, 8, size, sha, alive, expected_deleted=1)


def test_save_into_missing_folder_raises(tmp_path: Path) -> None:
    index = VectorIndex(4)
    index.add([1], np.ones((1, 4), dtype=np.float32))
    with pytest.raises(OSError):
        index.save(tmp_path / "no" / "such" / "dir" / "x.hnsw")


@pytest.mark.skipif(not huge_pages.supported(), reason="needs Linux with transparent huge pages")
def test_graph_memory_is_backed_by_huge_pages_when_built_grown_and_loaded(tmp_path: Path) -> None:
    """HNSW walks memory at random: 2 MB pages spare it a TLB miss per step (benchmarks). The
    index advises its memory for them, built, grown and loaded. Checked in a fresh interpreter:
    whether an allocation gets a mapping of its own depends on what the process freed before
    (glibc raises its mmap threshold after large frees), and earlier tests free large arrays."""
    here = str(Path(__file__).parent)
    code = f"import sys; sys.path.insert(0, {here!r}); import test_vector_index as t; t._advice({str(tmp_path)!r})"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def _advice(folder: str) -> None:
    tmp_path = Path(folder)
    rng = np.random.default_rng(6)
    n = 20_000
    data = _unit(rng, n, 512)
    index = VectorIndex(512, capacity=n // 2 + 6000, m=4, ef_construction=10)  # ~34 MB, grown to ~68
    index.add(np.arange(n // 2), data[: n // 2])
    assert index.huge_page_advised_bytes() >= 16 << 20
    index.add(np.arange(n // 2, n), data[n // 2 :])
    assert index.huge_page_advised_bytes() >= 32 << 20
    size, sha = index.save(tmp_path / "a.hnsw")
    loaded = VectorIndex.load(tmp_path / "a.hnsw", 512, size, sha, np.arange(n), 0)
    plain = VectorIndex.load(tmp_path / "a.hnsw", 512, size, sha, np.arange(n), 0, huge_pages=False)
    assert loaded.huge_page_advised_bytes() >= 32 << 20 and plain.huge_page_advised_bytes() == 0
    assert loaded.search(data[7], 1)[0][0] == plain.search(data[7], 1)[0][0] == 7
    # Whether the kernel backs the advice depends on free 2 MB blocks (a fragmented machine has
    # none): that is measured by benchmarks/search_latency.py (huge_page_mb), not asserted here.
    assert plain.huge_page_bytes() == 0 and loaded.huge_page_bytes() <= loaded.huge_page_advised_bytes()


def test_without_huge_pages_the_index_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS, Windows, THP switched off: no advice, same index."""
    monkeypatch.setattr(huge_pages, "supported", lambda: False)
    rng = np.random.default_rng(8)
    data = _unit(rng, EXACT_SEARCH_LIMIT + 100, 16)
    index = VectorIndex(16, capacity=64)
    index.add(np.arange(len(data)), data)
    assert index.huge_page_bytes() == 0
    assert index.search(data[3], 1)[0][0] == 3


def test_an_index_under_a_non_ascii_folder_saves_and_loads_on_every_system(tmp_path: Path) -> None:
    """hnswlib opens files by narrow names: Windows reads those in its ANSI code page, so a
    library under C:\\Users\\José\\ failed to save (core/index/native_path.py). Run on every CI
    system: a folder with accents and one with characters no Western code page has."""
    from photosearch.core.index.native_path import native_path

    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((50, 16)).astype(np.float32)
    for name in ("José", "写真 アルバム"):
        folder = tmp_path / name / "library" / "index"
        folder.mkdir(parents=True)
        index = VectorIndex(16)
        index.add(np.arange(1, 51), vectors)
        size, sha = index.save(folder / "model.hnsw")
        assert size > 0 and (folder / "model.hnsw").is_file()
        again = VectorIndex.load(folder / "model.hnsw", 16, size, sha, np.arange(1, 51), expected_deleted=0)
        assert again.search(vectors[7], 1)[0].tolist() == [8]
    # what Windows gets: the ANSI code page's bytes, not UTF-8's
    assert native_path(Path("C:\\Users\\José\\index.bin"), "linux") == "C:\\Users\\José\\index.bin".encode()
