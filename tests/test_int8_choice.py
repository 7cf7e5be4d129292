"""int8 by default where it proves itself (issue 26): a library on the automatic backend tries
the int8 graph beside the exact one on its first photos, keeps the choice with its figures,
records which graph made each vector, and makes int8 vectors again when told to be exact.

Real library, real tiny model, real ONNX graphs. The trial is shortened (`TRIAL_PHOTOS`) to
keep the test quick; where a test needs int8 chosen, the speed bar is lowered, since whether
int8 is faster depends on the machine (for the tiny model it is not: its convolutions are too
small for int8 to pay).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_shapes

from photosearch.core.library import Library
from photosearch.core.models import int8_trial
from photosearch.core.models.onnx_towers import IMAGE_INT8, OnnxTowers
from photosearch.samples import synthetic

pytestmark = pytest.mark.usefixtures("tiny_model")
TRIAL = 64  # two batches of 32


def _photos(folder: Path) -> list[Path]:
    labels = synthetic.all_labels()
    return write_shapes(folder, (labels * 3)[:100], seed=26, size=(320, 240))


def test_the_choice_is_made_on_the_first_photos_kept_and_undone_when_exact_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(int8_trial, "TRIAL_PHOTOS", TRIAL)
    monkeypatch.setattr(int8_trial, "SPEED_BAR", 0.0)  # chosen on agreement alone (see the module docstring)
    _photos(tmp_path / "photos")
    home = tmp_path / "library"
    with Library(home, model="tiny-shapes", threads=2) as library:
        library.add_folder(tmp_path / "photos")
        library.index(batch_size=32)
        choice = library.int8_choice()
        assert choice is not None and choice.chosen, choice
        assert choice.agreement is not None and choice.agreement["photos"] == TRIAL
        by_graph = library.catalog.vectors_by_graph("tiny-shapes")
        assert by_graph == {"exact": TRIAL, "int8": 100 - TRIAL}, "the trial's photos keep their exact vectors"
        status = library.status()
        assert status.int8.startswith("int8: its searches agree") and f"{100 - TRIAL} vectors made by int8" in status.int8
        assert "red" in Path(library.search("a red circle", k=1).paths[0]).name

    loaded: list[str] = []
    load_image = OnnxTowers._load_image

    def recorded(towers: OnnxTowers, name: str, least: float) -> object:
        loaded.append(name)
        return load_image(towers, name, least)

    monkeypatch.setattr(OnnxTowers, "_load_image", recorded)
    with Library(home, model="tiny-shapes", threads=2) as again:  # a restart: the choice stands, no new trial
        again.prepare_indexing()
        assert again.embedder.graph == "int8" and again.embedder.trying_int8 is None
        assert loaded == [IMAGE_INT8], "only the chosen image graph is loaded"
        assert again.embedder.backend == "onnx-int8"
        again.embedder.use_int8(False)  # and back to exact, should a choice ever be undone in place
        assert again.embedder.graph == "exact" and loaded == [IMAGE_INT8, "image.onnx"]

    with Library(home, model="tiny-shapes", threads=2, backend="onnx") as exact:  # exact asked for by name
        assert exact.prepare_indexing() == 100 - TRIAL, "the int8 vectors are made again, exactly"
        exact.run_indexing()
        assert exact.catalog.vectors_by_graph("tiny-shapes") == {"exact": 100}
        assert exact.status().int8.startswith("exact, as asked for")
        assert "red" in Path(exact.search("a red circle", k=1).paths[0]).name

    with Library(home, model="tiny-shapes", threads=2, backend="onnx-int8") as int8:  # int8 asked for by name
        assert int8.prepare_indexing() == 0, "exact vectors are kept: they are the better ones"
        assert int8.status().int8.startswith("int8, as asked for")


def test_a_refusal_says_why_with_its_figures_and_every_vector_stays_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(int8_trial, "TRIAL_PHOTOS", TRIAL)
    monkeypatch.setattr(int8_trial, "SPEED_BAR", 1e9)  # no int8 graph is that much faster
    _photos(tmp_path / "photos")
    with Library(tmp_path / "library", model="tiny-shapes", threads=2) as library:
        library.add_folder(tmp_path / "photos")
        library.index(batch_size=32)
        choice = library.int8_choice()
        assert choice is not None and not choice.chosen
        assert choice.why.startswith("exact: int8 is not faster enough here") and "recall@10" in choice.why
        assert choice.speed_up is not None and choice.speed_up > 0
        assert library.catalog.vectors_by_graph("tiny-shapes") == {"exact": 100}
        assert library.status().int8 == choice.why


def test_a_library_too_small_to_judge_stays_exact_and_says_it_is_deciding(tmp_path: Path) -> None:
    write_shapes(tmp_path / "photos", synthetic.all_labels()[:20], seed=3, size=(320, 240))
    with Library(tmp_path / "library", model="tiny-shapes", threads=2) as library:
        library.add_folder(tmp_path / "photos")
        library.index(batch_size=32)
        assert library.int8_choice() is None
        assert library.catalog.vectors_by_graph("tiny-shapes") == {"exact": 20}
        line = library.status().int8
        assert line.startswith("deciding: int8 runs beside the exact graph") and "(20 so far)" in line
