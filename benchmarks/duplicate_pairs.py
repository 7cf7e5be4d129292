"""Duplicates: precision and recall per kind and strictness, what grouping costs while indexing,
and grouping an existing large library.

    python benchmarks/duplicate_pairs.py --scenes 40 --models tiny-shapes ViT-B-32-256 --json
    python benchmarks/duplicate_pairs.py --existing 100000 --json

Pairs (samples/duplicate_sets.py, the tests' generator): for each of `--scenes` scenes, the
photo in every form (its exact copy; resized, recompressed, cropped, brighter, more colourful,
less contrast; PNG, WebP, HEIC where an encoder exists; an EXIF-rotated copy), a burst of
three shots a second apart of another scene, and a look-alike: a third scene whose subject is
the same shape in the same colour (two red circles: similar, never duplicates). Every other
pair of photos is unrelated. A real library indexes them all with the model named (the
default architecture with random weights: no download), grouping as they arrive; then, for
each kind and strictness, a pair of photos counts as found when they share a group of that
kind, and precision and recall are counted over pairs.

`--review N`: a library with N groups: a page of the window's list, first and again, and
status's summary in a fresh process.

`--existing N`: a library of N photos indexed before duplicates existed (vectors, looks and
fingerprints put in the catalog directly, a few planted near-copies among them), grouped from
scratch as the worker does when idle; photos per second.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from common import clip_like, cpu_name

from photosearch.core.catalog import Catalog, Embedded, NewPhoto
from photosearch.core.duplicates.kinds import STRICTNESS
from photosearch.core.library import Library
from photosearch.samples.duplicate_sets import save, write_burst, write_forms
from photosearch.samples.scenes import Scene, scenes

KINDS = ("exact", "same", "burst")
Forms = list[tuple[str, str, str]]  # (the form's name, the original's path, its path)


def write_set(folder: Path, count: int) -> tuple[dict[frozenset[str], str], Forms]:
    """The files, and the truth: each duplicate pair of paths → its kind (absent: not duplicates);
    and each form as (its name, the original's path, its path)."""
    truth: dict[frozenset[str], str] = {}
    forms_made: Forms = []
    own = scenes(3 * count, seed=2027)
    start = datetime(2023, 1, 1, 9, 0, 0)
    for i in range(count):
        forms = write_forms(own[i], folder / f"s{i:03d}", "photo", start + timedelta(days=i))
        forms_made += [(name, str(forms["original"]), str(path)) for name, path in forms.items() if name != "original"]
        for (name_a, a), (name_b, b) in itertools.combinations(forms.items(), 2):
            truth[frozenset((str(a), str(b)))] = "exact" if {name_a, name_b} == {"original", "copy"} else "same"
        shots = write_burst(own[count + i], folder / f"s{i:03d}", "burst", start + timedelta(days=i, hours=3), shots=3)
        for a, b in itertools.combinations(shots, 2):
            truth[frozenset((str(a), str(b)))] = "burst"
        look_alike = Scene(own[i].seed + 7, own[i].label)  # the same subject in another scene
        save(look_alike.render((1200, 900)), folder / f"s{i:03d}" / "look-alike.jpg", start + timedelta(days=i, seconds=30))
    return truth, forms_made


def evaluate(library: Library, truth: dict[frozenset[str], str], forms: Forms) -> dict[str, dict[str, float]]:
    """Pairwise precision and recall per kind, at each strictness; and per form of the same
    photo, the share of originals it was grouped with (as the same photo or an exact copy)."""
    results: dict[str, dict[str, float]] = {}
    for strictness in STRICTNESS:
        together = {
            frozenset((a.path, b.path))
            for kind in ("exact", "same")
            for group in library.duplicate_groups(kind, strictness)
            for a, b in itertools.combinations(group.photos, 2)
        }
        for name in dict.fromkeys(name for name, _, _ in forms):
            mine = [frozenset((original, path)) for form, original, path in forms if form == name]
            results[f"form {name}@{strictness}"] = {"recall": round(sum(pair in together for pair in mine) / len(mine), 4)}
        for kind in KINDS:
            found = {
                frozenset((a.path, b.path))
                for group in library.duplicate_groups(kind, strictness)
                for a, b in itertools.combinations(group.photos, 2)
            }
            # kinds nest: an exact pair is also the same photo, and the same photo one moment
            wanted = {pair for pair, k in truth.items() if KINDS.index(k) <= KINDS.index(kind)}
            exactly = {pair for pair, k in truth.items() if k == kind}
            right = found & wanted
            results[f"{kind}@{strictness}"] = {
                "found": len(found),
                "precision": round(len(right) / len(found), 4) if found else 1.0,
                "recall": round(len(found & exactly) / len(exactly), 4) if exactly else 1.0,
                "false": len(found - wanted),
            }
    return results


def run_pairs(model: str, count: int, work: Path) -> dict[str, object]:
    folder = work / "photos"
    truth, forms = write_set(folder, count)
    paths = sorted(str(p) for p in folder.rglob("*") if p.is_file())
    grouping = [0.0]
    with Library(work / f"library-{model}", model=model, random_weights=model != "tiny-shapes") as library:
        group = library.group_duplicates

        def timed(limit: int = 200, cancel: object = None) -> int:
            started = time.perf_counter()
            try:
                return group(limit, cancel)  # type: ignore[arg-type]
            finally:
                grouping[0] += time.perf_counter() - started

        library.group_duplicates = timed  # type: ignore[method-assign]
        library.add_folder(folder)
        library.load_model()
        library.reconcile()
        library.prepare_indexing()
        started = time.perf_counter()
        report = library.run_indexing()
        indexing_s = time.perf_counter() - started
        results = evaluate(library, truth, forms)
    return {
        "model": model,
        "photos": len(paths),
        "duplicate_pairs": {kind: sum(1 for k in truth.values() if k == kind) for kind in KINDS},
        "indexed": report.indexed,
        "indexing_s": round(indexing_s, 2),
        "grouping_s": round(grouping[0], 3),
        "grouping_share": round(grouping[0] / indexing_s, 4),
        "grouping_ms_per_photo": round(grouping[0] / max(1, report.indexed) * 1000, 3),
        "results": results,
    }


def run_existing(size: int, work: Path, model: str = "ViT-B-32-256") -> dict[str, object]:
    """Group a library of `size` photos from scratch (the worker's idle grouping)."""
    home = work / "existing"
    catalog = Catalog(home / "catalog.sqlite3")
    folder = catalog.add_folder(str(work / "elsewhere"))
    catalog.apply_scan([NewPhoto(folder.id, f"{folder.path}/{i:07d}.jpg", 3_000_000 + i, i) for i in range(size)], [], [], [])
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((max(50, size // 200), 512)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = 1.0 / np.arange(1, len(centres) + 1) ** 0.8
    vectors = clip_like(size, 512, rng, centres, weights / weights.sum())
    looks = rng.integers(0, 1 << 63, size=size, dtype=np.int64)
    planted = rng.choice(size - 1, size=size // 50, replace=False)  # near-copies: 2 % of the library
    vectors[planted + 1] = vectors[planted] + rng.standard_normal((len(planted), 512)).astype(np.float32) * 0.005
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    looks[planted + 1] = looks[planted] ^ 0b101
    pending = catalog.pending(0, size)
    for start in range(0, size, 5000):
        part = pending[start : start + 5000]
        catalog.commit_results(
            model,
            [Embedded(p, vectors[p.id - 1], f"fp{p.id}", 4032, 3024, None, True, int(looks[p.id - 1])) for p in part],
            [],
        )
    catalog.set_meta("model", model)
    catalog.close()
    with Library(home, model=model, random_weights=True, threads=os.cpu_count()) as library:
        library.claim_writer()
        started = time.perf_counter()
        library.store.refresh()  # the graph is built from the catalog first (not what is measured)
        build_s = time.perf_counter() - started
        waiting = library.duplicates_waiting()
        started = time.perf_counter()
        while library.group_duplicates():
            pass
        grouping_s = time.perf_counter() - started
        groups = len(library.duplicate_groups("same"))
    return {
        "photos": size,
        "graph_build_s": round(build_s, 1),
        "grouped": waiting,
        "grouping_s": round(grouping_s, 1),
        "photos_per_s": round(waiting / grouping_s, 1),
        "planted_near_copies": len(planted),
        "same_groups_found": groups,
    }


def run_review(groups: int, work: Path, model: str = "ViT-B-32-256") -> dict[str, object]:
    """A library with `groups` same-photo groups of two (pairs written to the catalog directly):
    how long a page of 50 takes for the window, first (grouping every pair) and again (cached),
    and a status line's summary."""
    home = work / "review"
    catalog = Catalog(home / "catalog.sqlite3")
    folder = catalog.add_folder(str(work / "elsewhere"))
    photos = [NewPhoto(folder.id, f"{folder.path}/{i:07d}.jpg", 3_000_000 + i, i) for i in range(2 * groups)]
    catalog.apply_scan(photos, [], [], [])
    with catalog.transaction() as db:
        db.executemany(
            "INSERT INTO duplicate_pairs(a, b, model, same_bytes, cosine, look_distance, seconds_apart)"
            " VALUES(?, ?, ?, 0, 0.97, 4, 0)",
            [(2 * i + 1, 2 * i + 2, model) for i in range(groups)],
        )
    catalog.set_meta("model", model)
    catalog.close()
    timings: dict[str, object] = {"groups": groups}
    with Library(home, model=model, random_weights=True) as library:
        for name in ("first page", "same page again", "page 1000"):
            started = time.perf_counter()
            page = library.duplicate_page("same", offset=50_000 if name == "page 1000" else 0, limit=50)
            timings[f"{name}_ms"] = round((time.perf_counter() - started) * 1000, 1)
        assert page.total == groups and len(page.groups) == 50
    with Library(home, model=model, random_weights=True) as library:  # a fresh process's status
        started = time.perf_counter()
        library.duplicates.summary()
        timings["summary_fresh_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--models", nargs="+", default=["tiny-shapes", "ViT-B-32-256"])
    parser.add_argument("--existing", type=int, default=0, help="also group a library of this many photos from scratch")
    parser.add_argument("--review", type=int, default=0, help="also time the window's pages with this many groups")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out: dict[str, object] = {"cpu": cpu_name()}
    with tempfile.TemporaryDirectory() as scratch:
        out["pairs"] = [run_pairs(model, args.scenes, Path(scratch) / model) for model in args.models] if args.scenes else []
        if args.existing:
            out["existing"] = run_existing(args.existing, Path(scratch))
        if args.review:
            out["review"] = run_review(args.review, Path(scratch))
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"CPU: {out['cpu']}")
    for run in out["pairs"]:  # type: ignore[attr-defined]
        print(f"\n{run['model']}: {run['photos']} photos, duplicate pairs {run['duplicate_pairs']}")
        share = f"{100 * run['grouping_share']:.1f} % of indexing"
        print(f"grouping while indexing: {run['grouping_ms_per_photo']} ms per photo, {share}")
        print("| strictness | " + " | ".join(f"{k}: precision / recall (false pairs)" for k in KINDS) + " |")
        print("|---|" + "---|" * len(KINDS))
        for strictness in STRICTNESS:
            cells = [run["results"][f"{k}@{strictness}"] for k in KINDS]
            print(f"| {strictness} | " + " | ".join(f"{c['precision']} / {c['recall']} ({c['false']})" for c in cells) + " |")
        names = sorted({key.split("@")[0][5:] for key in run["results"] if key.startswith("form ")})
        print("\nsame photo, recall per form: | strictness | " + " | ".join(names) + " |")
        for strictness in STRICTNESS:
            recalls = (str(run["results"][f"form {n}@{strictness}"]["recall"]) for n in names)
            print(f"| {strictness} | " + " | ".join(recalls) + " |")
    for part in ("existing", "review"):
        if part in out:
            print(f"\n{part}: {out[part]}", file=sys.stdout)


if __name__ == "__main__":
    main()
