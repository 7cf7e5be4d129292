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
from photosearch.core.everyday_queries import EVERYDAY_QUERIES
from photosearch.core.index.calibration import (
    EF_STEPS,
    END_TO_END_S,
    IMAGE_CEILING_S,
    LEAST_TEXT_QUERIES,
    TARGET_RECALL,
    WINDOW_SHARE_S,
    TextSample,
    calibrate,
    calibration_queries,
    reaches,
    text_ceiling_s,
)
from photosearch.core.index.vectors import EXACT_SEARCH_LIMIT, VectorIndex
from photosearch.core.library import Library

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model

DIM = 64  # the tiny model's: the library below is a tiny-shapes library
NO_CEILING = {"image": 10.0, "text": 10.0}


def _clustered(n: int, rng: np.random.Generator, dim: int = DIM) -> np.ndarray:
    centres = rng.standard_normal((max(20, n // 100), dim)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + rng.standard_normal((n, dim)).astype(np.float32) * np.float32(0.35)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _recalls(index: VectorIndex, queries: np.ndarray, ef: int, data: np.ndarray) -> list[float]:
    """Each query's recall@10 searching at `ef`, against a brute-force ranking of every vector."""
    truth = np.argsort(-(queries @ data.T), axis=1)[:, :10]
    return [len(np.intersect1d(index.search(q, 10, ef=ef)[0], t)) / 10 for q, t in zip(queries, truth, strict=True)]


def _recall(index: VectorIndex, queries: np.ndarray, ef: int, data: np.ndarray) -> float:
    return float(np.mean(_recalls(index, queries, ef, data)))


def test_calibration_finds_the_smallest_breadth_that_reaches_the_target_on_a_real_graph() -> None:
    rng = np.random.default_rng(1)
    data = _clustered(8000, rng)
    index = VectorIndex(DIM, capacity=8000, m=6, ef_construction=24)  # a weak graph: ef must work for it
    index.add(np.arange(8000), data)
    result = calibrate(index, sample=120, ceilings_s=NO_CEILING)
    for measured in (result.image, result.text):
        assert measured.recall >= TARGET_RECALL[measured.kind] and not measured.latency_bound, measured
    # the recorded recall is what searching at that breadth really gives, and one step less is not enough
    images, texts = calibration_queries(index, 120)
    for measured, queries in ((result.image, images), (result.text, texts)):
        assert _recall(index, queries, measured.ef, data) == pytest.approx(measured.recall, abs=1e-4)  # recorded to 4 places
        if measured.ef != EF_STEPS[0]:
            smaller = EF_STEPS[EF_STEPS.index(measured.ef) - 1]
            assert not reaches(_recalls(index, queries, smaller, data), measured.target)
    assert result.image.ef > EF_STEPS[0], "a weak graph needs more than the smallest breadth"


def test_the_latency_ceiling_bounds_the_breadth_and_says_so() -> None:
    rng = np.random.default_rng(2)
    index = VectorIndex(DIM, capacity=6000, m=4, ef_construction=8)
    index.add(np.arange(6000), _clustered(6000, rng))
    result = calibrate(index, sample=60, ceilings_s={"image": 1e-9, "text": 1e-9})  # nothing is fast enough
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


def test_real_text_queries_are_measured_instead_of_the_modelled_sample() -> None:
    rng = np.random.default_rng(5)
    data = _clustered(6000, rng)
    index = VectorIndex(DIM, capacity=6000, m=6, ef_construction=24)
    index.add(np.arange(6000), data)
    real = _clustered(80, np.random.default_rng(6))  # stand-ins for real text queries
    measured = calibrate(index, sample=80, text_sample=TextSample(real, 30), ceilings_s=NO_CEILING).text
    assert _recall(index, real, measured.ef, data) == pytest.approx(measured.recall, abs=1e-4)  # these were measured
    assert measured.sample == "30 of your searches and 50 everyday ones"
    too_few = calibrate(index, sample=80, text_sample=TextSample(real[:10], 10), ceilings_s=NO_CEILING)
    assert too_few.text.sample == "modelled across the gap" and too_few.user_queries == 0


def test_a_text_search_may_take_what_the_budget_leaves_after_the_encoder() -> None:
    assert text_ceiling_s(0.015) == pytest.approx(END_TO_END_S - WINDOW_SHARE_S - 0.015)
    assert text_ceiling_s(0.015) > text_ceiling_s(0.020) > IMAGE_CEILING_S  # a faster encoder leaves more
    assert text_ceiling_s(1.0) == IMAGE_CEILING_S  # a slow one never leaves less than an image search gets
    rng = np.random.default_rng(7)
    index = VectorIndex(DIM, capacity=6000, m=4, ef_construction=8)  # a weak graph: it needs breadth
    index.add(np.arange(6000), _clustered(6000, rng))
    result = calibrate(index, sample=60, ceilings_s={"image": 1e-9, "text": 10.0})
    assert result.image.ef == EF_STEPS[0] and result.image.latency_bound and result.image.ceiling_ms == pytest.approx(1e-6)
    assert result.text.ef > EF_STEPS[0] and not result.text.latency_bound and result.text.ceiling_ms == 10_000
    timed = calibrate(index, sample=60, text_sample=TextSample(_clustered(60, rng), 60, encoder_s=0.012))
    assert timed.text.ceiling_ms == pytest.approx(text_ceiling_s(0.012) * 1000)
    assert timed.image.ceiling_ms == pytest.approx(IMAGE_CEILING_S * 1000)


def test_the_users_text_queries_are_kept_with_the_library_and_measured(tmp_path: Path) -> None:
    home = tmp_path / "library"
    _big_library(home)
    with Library(home, model="tiny-shapes") as library:
        library.claim_writer()
        library.search("a red circle", k=3)
        library.search("blue square -triangle", k=3)
        library.search("a red circle", k=3)  # a repeat is one query
        assert library.catalog.text_query_count("tiny-shapes") == 0, "a search never waits for a write"
    assert not any(b"red circle" in file.read_bytes() for file in home.glob("catalog.sqlite3*")), "vectors, never words"
    with Library(home, model="tiny-shapes") as library:  # kept at close: a restart has them
        kept = library.catalog.text_queries("tiny-shapes", DIM)
        assert len(kept) == 2
        np.testing.assert_allclose(kept[0], library.query_vector("a red circle"), atol=1e-6)  # newest first
        library.claim_writer()
        assert library.store.needs_calibration() and library.calibrate_search()  # the model is loaded: it tops the sample up
        measured = library.store.calibration
        assert measured is not None and measured.user_queries == 2
        assert measured.text.sample == f"2 of your searches and {len(EVERYDAY_QUERIES)} everyday ones"
        assert measured.image.sample == "200 photos held back"
        encoder_s = library.embedder.text_seconds_p95()
        assert encoder_s is not None, "the encoder was timed on queries encoded one by one"
        assert measured.text.ceiling_ms == pytest.approx(text_ceiling_s(encoder_s) * 1000, abs=1e-3)
    env = dict(os.environ, PHOTOSEARCH_HOME=str(home))
    shown = subprocess.run([sys.executable, "-m", "photosearch", "status"], env=env, capture_output=True, text=True).stdout
    assert f"measured on 2 of your searches and {len(EVERYDAY_QUERIES)} everyday ones" in shown


def test_only_the_latest_text_queries_are_kept(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    vectors = _clustered(5, np.random.default_rng(8))
    catalog.keep_text_queries("m", vectors[:4], keep=3)
    np.testing.assert_array_equal(catalog.text_queries("m", DIM), vectors[[3, 2, 1]])
    catalog.keep_text_queries("m", vectors[[2, 4]], keep=3)  # asked again: to the front
    np.testing.assert_array_equal(catalog.text_queries("m", DIM), vectors[[4, 2, 3]])
    assert catalog.text_queries("other", DIM).shape == (0, DIM) and catalog.text_query_count("m") == 3
    catalog.close()


def test_a_graph_is_measured_again_once_the_user_searched_enough(tmp_path: Path) -> None:
    home = tmp_path / "library"
    _big_library(home)
    with Library(home, model="tiny-shapes") as library:
        library.claim_writer()
        assert library.store.needs_calibration() and library.calibrate_search()
        assert not library.calibrate_search(), "measured: nothing new"
        library.catalog.keep_text_queries("tiny-shapes", _clustered(LEAST_TEXT_QUERIES, np.random.default_rng(9)), 200)
        assert library.calibrate_search(), "now the user's own queries can be measured"
        measured = library.store.calibration
        assert measured is not None and measured.user_queries == LEAST_TEXT_QUERIES
        library.catalog.keep_text_queries("tiny-shapes", _clustered(10, np.random.default_rng(10)), 200)
        assert not library.calibrate_search(), "a few more searches change little"
        record = json.loads(library.catalog.get_meta("calibration:tiny-shapes") or "")
        record["method"] = 1  # measured before the text sample and ceiling were real
        library.catalog.set_meta("calibration:tiny-shapes", json.dumps(record))
    with Library(home, model="tiny-shapes") as library:
        library.claim_writer()
        assert library.store.calibration is None and library.store.needs_calibration() and library.calibrate_search()
