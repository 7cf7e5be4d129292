"""Duplicates and bursts (issue 27): real files of every kind indexed by a real library with the
real tiny model, grouped as they arrive, kept apart by kind, and kept right when photos change,
leave, are declared not duplicates, or when the grouping process is killed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from photosearch.core.duplicates.kinds import DEFAULT_STRICTNESS, STRICTNESS
from photosearch.core.images import load_for_model
from photosearch.core.library import Library
from photosearch.core.look import look_distance
from photosearch.samples.duplicate_sets import save, write_burst, write_forms
from photosearch.samples.heic import can_write_heic
from photosearch.samples.scenes import Scene, scenes
from photosearch.samples.synthetic import shape_labels

pytestmark = pytest.mark.usefixtures("tiny_model")

NOON = datetime(2024, 6, 1, 12, 0, 0)
RED_CIRCLE = next(label for label in shape_labels() if label.key == "red circle")


def _names(groups: list) -> list[list[str]]:
    return sorted(sorted(Path(p.path).name for p in g.photos) for g in groups)


@dataclass(frozen=True)
class PhotoSet:
    folder: Path
    forms: dict[str, Path]
    burst: list[Path]
    circles: list[Path]
    unrelated: list[Path]


@pytest.fixture(scope="module")
def photo_set(tmp_path_factory: pytest.TempPathFactory) -> PhotoSet:
    """Every kind once: a photo in all its forms, a burst, two red circles from different
    scenes (similar, not duplicates) and unrelated photos."""
    folder = tmp_path_factory.mktemp("dup") / "photos"
    own = scenes(8, seed=27)
    forms = write_forms(own[0], folder, "beach", NOON)
    burst = write_burst(own[1], folder / "burst", "party", datetime(2024, 6, 2, 18, 30, 0), shots=4, seconds=1)
    first_circle = save(Scene(4001, RED_CIRCLE).render((1200, 900)), folder / "circle-a.jpg", datetime(2024, 6, 3, 9, 0, 0))
    other_circle = save(Scene(4002, RED_CIRCLE).render((1200, 900)), folder / "circle-b.jpg", datetime(2024, 6, 3, 9, 0, 2))
    unrelated = [
        save(s.render((1200, 900)), folder / f"other-{i}.jpg", datetime(2024, 7, 1, 10, i, 0)) for i, s in enumerate(own[2:])
    ]
    return PhotoSet(folder, forms, burst, [first_circle, other_circle], unrelated)


@pytest.fixture(scope="module")
def grouped(photo_set: PhotoSet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library that indexed the set (and grouped it as the photos arrived)."""
    home = tmp_path_factory.mktemp("dup-library") / "library"
    with Library(home, model="tiny-shapes") as library:
        library.add_folder(photo_set.folder)
        library.reconcile()
        library.prepare_indexing()
        library.run_indexing()
        assert library.duplicates_waiting() == 0, "grouped as they arrived, in the indexing run itself"
    return home


def _as_before_duplicates(grouped: Path, home: Path, looks: bool) -> dict[str, list[list[str]]]:
    """A copy of the grouped library as a release before duplicates left it: no pairs, nothing
    grouped (and without `looks`, no looks either). Returns the groups it had, per kind."""
    shutil.copytree(grouped, home)
    with Library(home, model="tiny-shapes") as library:
        expected = {kind: _names(library.duplicate_groups(kind)) for kind in ("exact", "same", "burst")}
        with library.catalog.transaction() as db:
            if not looks:
                db.execute("UPDATE photos SET look=NULL")
            db.execute("DELETE FROM duplicate_pairs")
            db.execute("DELETE FROM duplicates_progress")
    return expected


def test_a_photos_look_barely_moves_in_its_other_forms_and_lies_far_from_other_photos(photo_set: PhotoSet) -> None:
    forms = photo_set.forms

    def look(path: Path) -> int:
        info = load_for_model(path, 64, thumbnail=320)[1]
        assert info.look is not None
        return info.look

    original = look(forms["original"])
    moved = {name: look_distance(original, look(path)) for name, path in forms.items()}
    assert moved["copy"] == 0 and moved["png"] <= 2 and moved["rotated"] <= 2, moved
    assert max(moved.values()) <= STRICTNESS[DEFAULT_STRICTNESS].same_look, moved
    circles = photo_set.circles
    others = photo_set.unrelated
    assert look_distance(look(circles[0]), look(circles[1])) > 16
    assert min(look_distance(original, look(p)) for p in others) > 16


def test_each_kind_is_found_as_photos_arrive_and_kept_apart(grouped: Path, photo_set: PhotoSet) -> None:
    forms = photo_set.forms
    burst = photo_set.burst
    with Library(grouped, model="tiny-shapes") as library:
        exact = library.duplicate_groups("exact")
        same = library.duplicate_groups("same")
        bursts = library.duplicate_groups("burst")
        summary = library.status().duplicates
    assert [[p.path for p in g.photos] for g in exact] == [[str(forms["original"]), str(forms["copy"])]]
    assert exact[0].keep_because.startswith("the oldest file")
    assert exact[0].reclaimable == forms["copy"].stat().st_size
    assert _names(same) == [sorted(p.name for p in forms.values())], "every form of the photo, in one group"
    best_format = "heic" if can_write_heic() else "png"  # a camera format, at the most pixels (the cropped form has fewer)
    assert same[0].photos[0].path == str(forms[best_format])
    assert same[0].keep_because.startswith(f"most pixels (1200×900); of those, the {best_format.upper()} (a camera format")
    assert _names(bursts) == [sorted(p.name for p in burst)]
    assert bursts[0].keep_because == "the sharpest shot" and all(p.sharpness is not None for p in bursts[0].photos)
    grouped_names = {Path(p.path).name for g in exact + same + bursts for p in g.photos}
    circles = photo_set.circles
    assert not {c.name for c in circles} & grouped_names, "two red circles are similar, not duplicates"
    assert summary is not None and summary.groups == {"exact": 1, "same": 1, "burst": 1} and summary.waiting == 0
    if can_write_heic():
        assert "beach.heic" in _names(same)[0]


def test_strictness_moves_along_the_curve(tmp_path: Path) -> None:
    """A slow burst (8 s between shots) is one moment only at a looser strictness."""
    folder = tmp_path / "photos"
    write_burst(scenes(1, seed=9)[0], folder, "slow", NOON, shots=3, seconds=8)
    with Library(tmp_path / "library", model="tiny-shapes") as library:
        library.add_folder(folder)
        library.index()
        assert library.duplicate_groups("burst", strictness=2) == []
        assert len(library.duplicate_groups("burst", strictness=3)[0].photos) == 3
        assert library.duplicate_groups("burst", strictness=1) == []
        with pytest.raises(Exception, match="strictness"):
            library.duplicate_groups("burst", strictness=9)


def test_groups_follow_photos_that_arrive_change_and_leave(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    forms = write_forms(scenes(1, seed=31)[0], folder, "walk", NOON)
    for name in ("png", "webp", "heic", "rotated", "cropped", "brighter", "more-colourful", "less-contrast", "recompressed"):
        forms.pop(name).unlink(missing_ok=True)  # the original, its copy, a smaller one
    with Library(tmp_path / "library", model="tiny-shapes") as library:
        library.add_folder(folder)
        library.index()
        assert _names(library.duplicate_groups("same")) == [["walk-resized.jpg", "walk.jpg", "walk.jpg"]]
        late = folder / "later" / "walk copy.jpg"  # arrives later: grouped by the indexing that embeds it
        late.parent.mkdir()
        shutil.copy(forms["original"], late)
        library.reconcile()
        library.run_indexing()
        assert library.duplicates_waiting() == 0
        assert _names(library.duplicate_groups("exact")) == [["walk copy.jpg", "walk.jpg", "walk.jpg"]]
        exact = library.duplicate_groups("exact")[0]
        assert Path(exact.photos[0].path).name == "walk.jpg" and "copy" in exact.keep_because
        # the copy is edited into another picture: its pairs go, and it is grouped again as what it is now
        save(scenes(2, seed=77)[1].render((1200, 900)), late, datetime(2025, 1, 1, 8, 0, 0))
        library.reconcile()
        library.run_indexing()
        assert _names(library.duplicate_groups("exact")) == [["walk.jpg", "walk.jpg"]]
        forms["copy"].unlink()  # leaves the disk: leaves the library and its group
        library.reconcile()
        assert library.duplicate_groups("exact") == []
        assert _names(library.duplicate_groups("same")) == [["walk-resized.jpg", "walk.jpg"]]


def test_not_duplicates_is_remembered(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    burst = write_burst(scenes(1, seed=41)[0], folder, "game", NOON, shots=2, seconds=1)
    home = tmp_path / "library"
    with Library(home, model="tiny-shapes") as library:
        library.add_folder(folder)
        library.index()
        (group,) = library.duplicate_groups("burst")
        library.not_duplicates([p.photo_id for p in group.photos])
        assert library.duplicate_groups("burst") == []
    for shot in burst:  # both change on disk: embedded and grouped again, the answer stands
        os.utime(shot, (time.time() + 5, time.time() + 5))
    with Library(home, model="tiny-shapes") as library:
        library.index()
        assert library.duplicate_groups("burst") == [] and library.duplicates_waiting() == 0


def test_an_existing_library_is_grouped_a_slice_at_a_time_with_looks_from_its_thumbnails(grouped: Path, tmp_path: Path) -> None:
    """A library indexed before duplicates existed: no looks, no pairs, nothing grouped."""
    home = tmp_path / "library"
    expected = _as_before_duplicates(grouped, home, looks=False)
    with Library(home, model="tiny-shapes") as library:
        total = library.duplicates_waiting()
        assert total == library.status().photos.indexed
        library.claim_writer()
        steps = []
        while grouped_now := library.group_duplicates(limit=5):
            steps.append(grouped_now)
            assert library.duplicates_waiting() == total - sum(steps)
        assert len(steps) > 2 and sum(steps) == total
        assert {kind: _names(library.duplicate_groups(kind)) for kind in expected} == expected
        assert library.catalog.read("SELECT COUNT(*) FROM photos WHERE look IS NULL")[0][0] == 0


GROUP_ONE_AT_A_TIME = """
import sys
from pathlib import Path
from photosearch.core.library import Library
with Library(Path(sys.argv[1]), model="tiny-shapes") as library:
    library.claim_writer()
    while library.group_duplicates(limit=1):
        print("grouped", flush=True)
"""


def test_a_kill_while_grouping_loses_nothing_and_repeats_nothing(grouped: Path, tmp_path: Path) -> None:
    home = tmp_path / "library"
    expected = _as_before_duplicates(grouped, home, looks=True)
    worker = subprocess.Popen([sys.executable, "-c", GROUP_ONE_AT_A_TIME, str(home)], stdout=subprocess.PIPE, text=True)
    assert worker.stdout is not None
    for _ in range(3):
        assert worker.stdout.readline().strip() == "grouped"
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    with Library(home, model="tiny-shapes") as library:
        left = library.duplicates_waiting()
        assert 0 < left <= library.status().photos.indexed - 3, "what was grouped stays grouped"
        library.claim_writer()
        while library.group_duplicates(limit=50):
            pass
        assert {kind: _names(library.duplicate_groups(kind)) for kind in expected} == expected


def test_the_command_line_lists_groups_for_people_and_scripts_and_deletes_nothing(grouped: Path, photo_set: PhotoSet) -> None:
    env = dict(os.environ, PHOTOSEARCH_HOME=str(grouped))
    files = sorted(p for p in photo_set.folder.rglob("*") if p.is_file())

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "photosearch", *args], env=env, capture_output=True, text=True, timeout=120)

    listed = json.loads(run("duplicates", "--json").stdout)
    assert [g["kind"] for g in listed] == ["exact", "same", "burst"]
    assert all(g["photos"][0]["path"] and g["keep_because"] and g["reclaimable"] > 0 for g in listed)
    exact = json.loads(run("duplicates", "--kind", "exact", "--json").stdout)
    assert len(exact) == 1 and len(exact[0]["photos"]) == 2
    text = run("duplicates", "--kind", "burst").stdout
    assert text.startswith("bursts and near shots: 1 group,") and "keep   " in text and "the sharpest shot" in text
    status = run("status").stdout
    assert "duplicates: 1 group of exact copies (" in status and ", 1 group of bursts and near shots (" in status
    assert run("duplicates", "--strictness", "7").returncode == 2
    assert sorted(p for p in photo_set.folder.rglob("*") if p.is_file()) == files, "nothing deleted"
    assert json.loads(run("status", "--json").stdout)["duplicates"]["groups"] == {"exact": 1, "same": 1, "burst": 1}


def test_a_thumbnail_that_cannot_be_read_leaves_the_photo_without_a_look(grouped: Path, tmp_path: Path) -> None:
    home = tmp_path / "library"
    _as_before_duplicates(grouped, home, looks=False)
    with Library(home, model="tiny-shapes") as library:
        for thumbnail in (home / "thumbnails").rglob("*.jpg"):
            thumbnail.write_bytes(b"not a jpeg")
        library.claim_writer()
        while library.group_duplicates():
            pass
        assert library.duplicate_groups("same") == [] and len(library.duplicate_groups("exact")) == 1, (
            "no look, no same-photo pairs; the same bytes still count"
        )


def test_the_suggested_keeper_and_its_reason() -> None:
    from photosearch.core.duplicates.keeper import Candidate, suggest
    from photosearch.core.duplicates.kinds import Kind

    def photo(
        i: int, path: str, size: int = 1000, wh: tuple[int, int] = (4000, 3000), mtime: int = 5, sharp: float | None = None
    ) -> Candidate:
        return Candidate(i, path, size, wh[0], wh[1], mtime, sharp)

    copies = [photo(1, "/a/IMG_1 copy.jpg", mtime=1), photo(2, "/b/IMG_1.jpg", mtime=9), photo(3, "/c/IMG_1 (2).jpg", mtime=0)]
    assert suggest(Kind.EXACT, copies) == (copies[1], "the original (the same bytes; the others' names say copy)")
    plain = [photo(1, "/a/x.jpg", mtime=7), photo(2, "/b/y.jpg", mtime=3)]
    assert suggest(Kind.EXACT, plain) == (plain[1], "the oldest file (all are the same bytes)")
    forms = [
        photo(1, "/p/IMG_2.jpg", 3_000_000),
        photo(2, "/p/IMG_2.HEIC", 1_500_000),
        photo(3, "/p/IMG_2-small.jpg", 200_000, (1200, 900)),
    ]
    keeper, why = suggest(Kind.SAME, forms)
    assert keeper is forms[1] and why == "most pixels (4000×3000); of those, the HEIC (a camera format; the others are exports)"
    assert suggest(Kind.SAME, forms[::2]) == (forms[0], "most pixels (4000×3000)")
    edits = [photo(1, "/p/IMG_3-edited.jpg", 4_000_000), photo(2, "/p/IMG_3.jpg", 2_000_000)]
    assert suggest(Kind.SAME, edits) == (edits[1], "the original (the others' names say copy or edit)")
    recompressed = [photo(1, "/p/a.jpg", 900_000), photo(2, "/q/b.jpg", 2_000_000)]
    assert suggest(Kind.SAME, recompressed) == (recompressed[1], "the least compressed (the largest file)")
    shots = [photo(1, "/s/1.jpg", sharp=40.0), photo(2, "/s/2.jpg", sharp=95.5), photo(3, "/s/3.jpg", sharp=12.0)]
    assert suggest(Kind.BURST, shots) == (shots[1], "the sharpest shot")


def test_kinds_nest_and_each_listing_holds_together() -> None:
    """1=2 are copies, 3 is 2 resized, 4-5-6 a burst (6 also a resized 5); 7~8 only look alike."""
    import numpy as np

    from photosearch.core.duplicates.groups import group
    from photosearch.core.duplicates.kinds import Kind, MeasuredPairs, Measures

    pairs = [
        (1, 2, Measures(True, 1.0, 0, 0.0)),
        (2, 3, Measures(False, 0.97, 4, 0.0)),
        (4, 5, Measures(False, 0.95, 10, 1.0)),
        (5, 6, Measures(False, 0.99, 2, None)),
        (7, 8, Measures(False, 0.93, 30, None)),
    ]
    a, b = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    measured = MeasuredPairs.of([p[2] for p in pairs])
    assert group(a, b, measured, Kind.EXACT, 2).page() == [[1, 2]]
    assert group(a, b, measured, Kind.SAME, 2).page() == [[1, 2, 3], [5, 6]]  # 6 is 5 resized
    assert group(a, b, measured, Kind.SAME, 2).page(1, 5) == [[5, 6]] and len(group(a, b, measured, Kind.SAME, 2)) == 2
    assert group(a, b, measured, Kind.SAME, 2, listed=False).page() == [[1, 2, 3], [5, 6]]
    assert group(a, b, measured, Kind.EXACT, 2).page(1) == []
    assert group(a, b, measured, Kind.BURST, 2).page() == [[4, 5, 6]]
    assert group(a, b, measured, Kind.BURST, 2).space({4: 10, 5: 30, 6: 20}) == 30  # all but the largest
    assert group(a[:0], b[:0], MeasuredPairs.of([]), Kind.SAME, 2).page() == []


def test_search_results_can_fold_a_photos_copies_and_forms_into_one_hit(grouped: Path, photo_set: PhotoSet) -> None:
    burst = {str(p) for p in photo_set.burst}
    with Library(grouped, model="tiny-shapes") as library:
        (beach,) = library.duplicate_groups("same")
        one_photo = {p.path for p in beach.photos}  # its forms and copies, as grouped at the default strictness
        wider = library.search("", images=[photo_set.forms["resized"]], k=60)  # what folding 30 looks through
        folded = library.search("", images=[photo_set.forms["resized"]], k=30, fold=True)
        shots = library.search("", images=[photo_set.burst[0]], k=30, fold=True)
    assert all(h.folded == 1 for h in wider)
    first = folded[0]
    assert first.path == wider[0].path in one_photo
    assert first.folded == len(one_photo & {h.path for h in wider}) > 5, "the best-ranked form stands for all of them"
    assert not {h.path for h in folded[1:]} & one_photo and len(folded) == min(30, len(wider) - first.folded + 1)
    assert len({h.path for h in shots} & burst) == len(burst), "a burst's shots are different photos: never folded"
