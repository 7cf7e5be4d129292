"""Search breadth chosen from measured recall: on a real (small) hnswlib graph, recorded in the
catalog, kept across restarts, redone for a new graph, and nothing recorded when interrupted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from photosearch.core.catalog import Catalog, Embedded, NewPhoto
from photosearch.core.index.calibration import EF_STEPS, TARGET_RECALL, calibrate, calibration_queries, reaches
from photosearch.core.index.vectors import EXACT_SEARCH_LIMIT, VectorIndex
from photosearch.core.library import Library

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model

DIM = 64  # the tiny model's: the library below is a tiny-shapes library


def _clustered(n: int, rng: np.random.Generator, dim: int = DIM) -> np.ndarray:
    centres = rng.standard_normal((max(20, n // 100), dim)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + rng.standard_normal((n, dim)).astype(np.float32) * np.float32(0.35)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _recall(index: VectorIndex, queries: np.ndarray, ef: int, data: np.ndarray) -> float:
    """Recall@10 of searching at `ef`, against a brute-force ranking of every vector."""
    truth = np.argsort(-(queries @ data.T), axis=1)[:, :10]
    return float(
        np.mean([len(np.intersect1d(index.search(q, 10, ef=ef)[0], t)) / 10 for q, t in zip(queries, truth, strict=True)])
    )


def test_calibration_finds_the_smallest_breadth_that_reaches_the_target_on_a_real_graph() -> None:
    rng = np.random.default_rng(1)
    data = _clustered(8000, rng)
    index = VectorIndex(DIM, capacity=8000, m=6, ef_construction=24)  # a weak graph: ef must work for it
    index.add(np.arange(8000), data)
    result = calibrate(index, sample=120, ceiling_s=10.0)
    for measured in (result.image, result.text):
        assert measured.recall >= TARGET_RECALL[measured.kind] and not measured.latency_bound, measured
    # the recorded recall is what searching at that breadth really gives, and one step less is not enough
    images, texts = calibration_queries(index, 120)
    for measured, queries in ((result.image, images), (result.text, texts)):
        assert _recall(index, queries, measured.ef, data) == pytest.approx(measured.recall, abs=1e-4)  # recorded to 4 places
        if measured.ef != EF_STEPS[0]:
            smaller = EF_STEPS[EF_STEPS.index(measured.ef) - 1]
            assert not reaches(_recall(index, queries, smaller, data), len(queries) * 10, measured.target)
    assert result.image.ef > EF_STEPS[0], "a weak graph needs more than the smallest breadth"


def test_the_latency_ceiling_bounds_the_breadth_and_says_so() -> None:
    rng = np.random.default_rng(2)
    index = VectorIndex(DIM, capacity=6000, m=4, ef_construction=8)
    index.add(np.arange(6000), _clustered(6000, rng))
    result = calibrate(index, sample=60, ceiling_s=1e-9)  # nothing is fast enough
    assert result.image.ef == EF_STEPS[0]
    assert result.image.latency_bound or result.image.recall >= TARGET_RECALL["image"]


def _big_library(home: Path, count: int = EXACT_SEARCH_LIMIT + 1500) -> None:
    """A tiny-shapes library of `count` indexed photos with clustered vectors (no model needed)."""
    catalog = Catalog(home / "catalog.sqlite3")
    folder = catalog.add_folder(str(home.parent / "photos"))
    catalog.apply_scan([NewPhoto(folder.id, f"{folder.path}/{i:05d}.jpg", 1, 1) for i in range(count)], [], [], [])
    vectors = _clustered(count, np.random.default_rng(3))
    pending = catalog.pending()
    catalog.commit_results("tiny-shapes", [Embedded(p, vectors[i], "x", 1, 1, None) for i, p in enumerate(pending)], [])
    catalog.set_meta("model", "tiny-shapes")
    catalog.close()


def test_a_library_records_its_calibration_and_keeps_it_across_restarts(tmp_path: Path) -> None:
    home = tmp_path / "library"
    _big_library(home)
    with Library(home, model="tiny-shapes") as library:
        assert library.status().index.search == ()  # nothing measured yet
        library.claim_writer()
        assert library.store.needs_calibration()
        assert library.calibrate_search()
        measured = library.store.calibration
        assert measured is not None and {c.kind for c in library.status().index.search} == {"image", "text"}
        assert library.store.search_ef("text") == measured.text.ef
    with Library(home, model="tiny-shapes") as library:  # a restart: the same graph, loaded
        assert library.status().index.search == (measured.image, measured.text)  # from the catalog alone
        assert library.store.note == "loaded from snapshot" and library.store.calibration == measured
        library.claim_writer()
        assert not library.calibrate_search(), "the graph is the one measured"
    env = dict(os.environ, PHOTOSEARCH_HOME=str(home))
    status = json.loads(
        subprocess.run([sys.executable, "-m", "photosearch", "status", "--json"], env=env, capture_output=True, text=True).stdout
    )
    assert [(c["kind"], c["ef"]) for c in status["index"]["search"]] == [("image", measured.image.ef), ("text", measured.text.ef)]
    for snapshot in (home / "index").glob("*.hnsw"):
        snapshot.unlink()
    with Library(home, model="tiny-shapes") as library:  # a rebuilt graph is measured again
        library.claim_writer()
        assert library.store.note.startswith("rebuilt") and library.store.calibration is None
        assert library.store.search_ef("image") > 0  # meanwhile: the defaults
        assert library.calibrate_search()


def test_an_interrupted_calibration_records_nothing_and_runs_again(tmp_path: Path) -> None:
    home = tmp_path / "library"
    _big_library(home)
    with Library(home, model="tiny-shapes") as library:
        library.claim_writer()
        library.store.calibrate(background=True)
        library.store.stop_calibration()  # e.g. the worker shuts down
        assert library.store.calibration is None
        assert library.catalog.get_meta("calibration:tiny-shapes") is None
    with Library(home, model="tiny-shapes") as library:
        library.claim_writer()
        assert library.store.needs_calibration() and library.calibrate_search()


def test_small_libraries_search_exactly_and_are_not_calibrated(library: Library, tmp_path: Path) -> None:
    from conftest import write_shapes

    from photosearch.samples import synthetic

    write_shapes(tmp_path / "photos", synthetic.shape_labels()[:6], 1)
    library.add_folder(tmp_path / "photos")
    library.index()
    assert not library.store.needs_calibration() and library.status().index.search == ()


def test_a_graph_that_doubled_since_it_was_measured_is_measured_again(tmp_path: Path) -> None:
    home = tmp_path / "library"
    _big_library(home)
    with Library(home, model="tiny-shapes") as library:
        library.claim_writer()
        assert library.store.needs_calibration() and library.calibrate_search()
        measured = library.store.calibration
        assert measured is not None and measured.vectors == len(library.store.index)
        grown = VectorIndex(DIM, capacity=1)  # stands in for the same graph after many additions
        grown.add(np.arange(2 * measured.vectors), _clustered(2 * measured.vectors, np.random.default_rng(4)))
        library.store.index = grown
        assert library.store.needs_calibration()


def test_the_worker_calibrates_a_new_graph_when_idle_and_searches_meanwhile(tmp_path: Path) -> None:
    import time

    from photosearch.worker.client import WorkerClient
    from photosearch.worker.protocol import WorkerSettings

    home = tmp_path / "library"
    _big_library(home)  # its folder is not on this disk: offline, photos kept, still searchable
    with WorkerClient(WorkerSettings(home=str(home), model="tiny-shapes", threads=1)) as client:
        client.start()
        assert len(client.search("a red circle", k=5).hits) == 5  # before and while it calibrates
        deadline = time.monotonic() + 60
        while not (status := client.status()).index.search:
            assert time.monotonic() < deadline, status.index
            time.sleep(0.2)
        assert {c.kind for c in status.index.search} == {"image", "text"}
    with Library(home, model="tiny-shapes") as library:
        assert library.status().index.search == status.index.search  # recorded, for the next start


def test_recent_real_text_queries_are_measured_instead_of_the_shifted_sample(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    data = _clustered(6000, rng)
    index = VectorIndex(DIM, capacity=6000, m=6, ef_construction=24)
    index.add(np.arange(6000), data)
    real = _clustered(80, np.random.default_rng(6))  # stand-ins for recent real text queries
    measured = calibrate(index, sample=80, text_queries=real, ceiling_s=10.0).text
    assert _recall(index, real, measured.ef, data) == pytest.approx(measured.recall, abs=1e-4)  # these were measured
    home = tmp_path / "library"
    _big_library(home)
    with Library(home, model="tiny-shapes") as library:
        library.search("a red circle", k=3)
        library.search("blue square -triangle", k=3)
        assert len(library._recent_text) == 2
