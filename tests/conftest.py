"""Shared fixtures: temporary libraries, generated photo folders, the real tiny model."""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["PHOTOSEARCH_MODEL"] = "tiny-shapes"  # the default model in tests: real, bundled, offline

from photosearch.core.library import Library
from photosearch.samples import synthetic

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
# The tiny model's ONNX export, kept between runs: it is keyed by the weights' hash and the
# runtime's version (a stale one is made again by the product itself), and costs ~20 s to make.
EXPORT_CACHE = Path(os.environ.get("PHOTOSEARCH_TEST_CACHE", ROOT / "build" / "test-cache")) / "exports"


LONGEST_FIRST = ("test_deb_package.py",)  # minutes of one chain: build, proof, clean systems


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest chain (the .deb) starts first, on a worker of its own, so the other workers
    run everything else beside it rather than leaving it for last."""
    items.sort(key=lambda item: item.path.name not in LONGEST_FIRST)


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the developer's real library, model cache or logs."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("PHOTOSEARCH_HOME", str(home / "library"))
    monkeypatch.setenv("PHOTOSEARCH_MODEL_CACHE", str(home / "model-cache"))
    # one model export for every run (see EXPORT_CACHE); tests of the export cache use their own
    monkeypatch.setenv("PHOTOSEARCH_EXPORT_CACHE", str(EXPORT_CACHE))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))  # the window's remembered settings


@pytest.fixture(scope="session")
def tiny_model() -> None:
    """The tiny model ready for the CPU (its ONNX export present) before a test that runs it
    starts: such a test must not depend on whether an earlier one paid for the export (the
    first use prints a note and takes seconds). Made at most once per machine and runtime;
    parallel test workers wait for each other on the product's own export lock."""
    from photosearch.core.models.embedder import Embedder
    from photosearch.core.models.registry import get_model

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PHOTOSEARCH_EXPORT_CACHE", str(EXPORT_CACHE))
        Embedder(get_model("tiny-shapes"), device="cpu", threads=1)


@pytest.fixture
def library(tmp_path: Path, tiny_model: None) -> Iterator[Library]:
    lib = Library(tmp_path / "library", model="tiny-shapes", threads=2)
    yield lib
    lib.close()


def write_shapes(folder: Path, labels: Sequence[synthetic.Label], seed: int, size: tuple[int, int] = (640, 480)) -> list[Path]:
    """One small generated photo per label (fast; for tests of plumbing, not of quality)."""
    rng = random.Random(seed)
    return [
        synthetic.write_photo(folder / f"{i:03d}_{label.key.replace(' ', '-')}.jpg", label, size, rng)
        for i, label in enumerate(labels)
    ]


@contextlib.contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A real file system of `size` (a tmpfs) mounted at `folder`, for tests of a full disk;
    skips where one cannot be mounted (not Linux, not root)."""
    folder.mkdir(parents=True, exist_ok=True)
    mountable = sys.platform.startswith("linux") and os.geteuid() == 0
    if not mountable or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]).returncode:
        pytest.skip("needs to mount a small tmpfs (Linux, root) to fill a disk")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)])


def damage_a_page(catalog: Path, table: str) -> None:
    """Overwrite the root page of `table` with garbage, as a failing disk would."""
    with sqlite3.connect(catalog) as db:
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name=?", (table,)).fetchone()[0]
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with open(catalog, "r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(random.Random(5).randbytes(page_size))


def corpus_dir(name: str) -> Path:
    folder = CORPUS / name
    if not folder.is_dir():
        pytest.skip(f"shared corpus folder {folder} is not present")
    return folder
