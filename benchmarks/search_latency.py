"""Index search latency (p50/p95) and recall@10 against exact search, at 10k / 100k / 1M vectors.

    python benchmarks/search_latency.py --sizes 10000 100000 1000000 --json

Vectors are CLIP-like: 512-d, unit length, clustered around many "scene" centres with
power-law cluster sizes. Image queries come from the same distribution; text queries are
shifted by a shared offset (CLIP's modality gap), which makes them harder for HNSW. Measures
`VectorIndex.search` as the app calls it (validation and lock included, text encoder excluded),
single query at a time, one thread. By default each kind is searched at the uncalibrated
defaults (image queries at DEFAULT_EF, queries with words at TEXT_QUERY_EF); `--calibrate`
first runs the app's own calibration on the built graph (core/index/calibration.py) and
measures at the breadth it chose, which is what a library searches at. Its image sample is its
own; its text sample stands for the user's kept searches: 200 other text queries drawn like
this benchmark's (none of them among the measured ones), and its text ceiling is what the
end-to-end budget leaves after a text encoder of `--encoder-p95-ms`. `--compare-modelled`
also calibrates the way the app did before (text queries modelled from held-back photos, one
5 ms ceiling for both kinds), on the same graph. `--ef A B ...` sweeps one ef for both kinds
over a single build instead. The processor's name is printed with the results: these machines
differ up to 3×.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from common import clip_like, cpu_name

from photosearch.core.index.calibration import IMAGE_CEILING_S, SAMPLE, TextSample, calibrate
from photosearch.core.index.vectors import DEFAULT_EF, DEFAULT_EF_CONSTRUCTION, DEFAULT_M, TEXT_QUERY_EF, VectorIndex


def exact_top(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = np.empty((len(queries), len(data)), dtype=np.float32)
    for start in range(0, len(data), 200_000):
        scores[:, start : start + 200_000] = queries @ data[start : start + 200_000].T
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    return top


def _percentiles(times: list[float]) -> dict[str, float]:
    ms = np.array(times) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3)}


def _build_or_reuse(
    data: np.ndarray, m: int, ef_construction: int, threads: int, cache: Path | None, name: str
) -> tuple[VectorIndex, float, Path | None]:
    """The index over `data`: loaded from `cache` when an earlier run left it there (a 1M
    build takes an hour on two cores), else built (and left there when `cache` is given)."""
    size, dim = data.shape
    if cache is not None and (cache / f"{name}.json").is_file():
        meta = json.loads((cache / f"{name}.json").read_text())
        path = cache / f"{name}.hnsw"
        return VectorIndex.load(path, dim, meta["size"], meta["sha256"], np.arange(size), 0), meta["build_s"], path
    index = VectorIndex(dim, capacity=size, m=m, ef_construction=ef_construction, threads=threads)
    started = time.perf_counter()
    for start in range(0, size, 50_000):
        index.add(np.arange(start, min(size, start + 50_000)), data[start : start + 50_000])
    build_s = time.perf_counter() - started
    if cache is None:
        return index, build_s, None
    cache.mkdir(parents=True, exist_ok=True)
    file_size, sha256 = index.save(cache / f"{name}.hnsw")
    (cache / f"{name}.json").write_text(json.dumps({"size": file_size, "sha256": sha256, "build_s": round(build_s, 1)}))
    return index, build_s, cache / f"{name}.hnsw"


def run(
    size: int,
    dim: int,
    queries: int,
    settings: list[dict[str, int]],
    threads: int,
    m: int = DEFAULT_M,
    ef_construction: int = DEFAULT_EF_CONSTRUCTION,
    seed: int = 0,
    cache: Path | None = None,
    compare_pages: bool = False,
    calibrated: bool = False,
    encoder_p95_ms: float = 17.5,
    compare_modelled: bool = False,
) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(50, size // 200), dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = 1.0 / np.arange(1, len(centres) + 1) ** 0.8
    weights /= weights.sum()
    data = clip_like(size, dim, rng, centres, weights)
    gap = rng.standard_normal(dim).astype(np.float32)
    gap *= np.float32(0.8) / np.linalg.norm(gap)

    name = f"clip-like-{size}-d{dim}-m{m}-efc{ef_construction}-seed{seed}"
    with tempfile.TemporaryDirectory() as scratch:
        if compare_pages and cache is None:
            cache = Path(scratch)
        index, build_s, path = _build_or_reuse(data, m, ef_construction, threads, cache, name)
        index._threads = 1
        plain = None
        if compare_pages and path is not None:  # the same graph on ordinary 4 KB pages
            meta = json.loads(path.with_suffix(".json").read_text())
            plain = VectorIndex.load(path, dim, meta["size"], meta["sha256"], np.arange(size), 0, huge_pages=False)

    calibrations: list[dict[str, object]] = [{}] * len(settings)
    if calibrated:
        # exact search reads the vectors from memory here; the app reads them from the catalog
        chunks = lambda: ((np.arange(s, min(s + 50_000, size)), data[s : s + 50_000]) for s in range(0, size, 50_000))  # noqa: E731
        kept = clip_like(SAMPLE, dim, np.random.default_rng(seed + 1000), centres, weights) + gap  # the user's kept searches
        sample = TextSample(kept, len(kept), encoder_p95_ms / 1000)
        ways = {"text: kept searches, budget ceiling": partial(calibrate, text_sample=sample)}
        if compare_modelled:
            one_ceiling = {"image": IMAGE_CEILING_S, "text": IMAGE_CEILING_S}
            ways["text: modelled, one 5 ms ceiling"] = partial(calibrate, ceilings_s=one_ceiling)
        settings, calibrations = [], []
        for way, calibrated_by in ways.items():
            found = calibrated_by(index, vectors=chunks)
            settings.append({"image": found.image.ef, "text": found.text.ef})
            measured = {c.kind: c.__dict__ for c in (found.image, found.text)}
            calibrations.append({"calibration": way, "calibrate_s": found.seconds, "calibrated": measured})

    query_sets = {}
    for kind in ("image", "text"):
        q = clip_like(queries, dim, rng, centres, weights)
        if kind == "text":
            q = q + gap
            q /= np.linalg.norm(q, axis=1, keepdims=True)
        query_sets[kind] = (q, exact_top(data, q, 10))
    rows: list[dict[str, object]] = []
    for ef, calibration in zip(settings, calibrations, strict=True):  # one build, several search-time settings
        result: dict[str, object] = {
            "vectors": size,
            "m": m,
            "ef_construction": ef_construction,
            "build_s": round(build_s, 1),
            "ef": ef,
            "huge_page_mb": index.huge_page_bytes() >> 20,
            "cpu": cpu_name(),
            **calibration,
        }
        for kind, (q, truth) in query_sets.items():
            times, plain_times, recalls = [], [], []
            for i in range(queries):
                t0 = time.perf_counter()
                labels, _ = index.search(q[i], 10, ef=ef[kind])
                times.append(time.perf_counter() - t0)
                recalls.append(len(set(labels.tolist()) & set(truth[i].tolist())) / 10)
                if plain is not None:  # interleaved, so both see the same machine noise
                    t0 = time.perf_counter()
                    plain.search(q[i], 10, ef=ef[kind])
                    plain_times.append(time.perf_counter() - t0)
            result[kind] = {**_percentiles(times), "recall_at_10": round(float(np.mean(recalls)), 4)}
            if plain is not None:
                result[kind]["small_pages"] = _percentiles(plain_times)  # type: ignore[index]
        rows.append(result)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--ef", type=int, nargs="+", help="search-time ef values to sweep (both kinds)")
    parser.add_argument("--threads", type=int, default=2, help="build threads")
    parser.add_argument("--m", type=int, default=DEFAULT_M, help="graph degree (hnswlib M)")
    parser.add_argument("--ef-construction", type=int, default=DEFAULT_EF_CONSTRUCTION)
    parser.add_argument("--cache", type=Path, help="keep built indexes here and reuse them in later runs")
    parser.add_argument("--compare-pages", action="store_true", help="also time the same graph on 4 KB pages (no huge pages)")
    parser.add_argument("--calibrate", action="store_true", help="search at the breadth the app's calibration chooses")
    parser.add_argument("--encoder-p95-ms", type=float, default=17.5, help="the text encoder's p95 (text_query_latency.py)")
    parser.add_argument("--compare-modelled", action="store_true", help="with --calibrate: also the modelled text sample")
    parser.add_argument("--seed", type=int, default=0, help="data seed (the same seed twice: two builds of the same data)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = [{"image": e, "text": e} for e in args.ef] if args.ef else [{"image": DEFAULT_EF, "text": TEXT_QUERY_EF}]
    rows = [
        row
        for size in args.sizes
        for row in run(
            size,
            args.dim,
            args.queries,
            settings,
            args.threads,
            args.m,
            args.ef_construction,
            seed=args.seed,
            cache=args.cache,
            compare_pages=args.compare_pages,
            calibrated=args.calibrate,
            encoder_p95_ms=args.encoder_p95_ms,
            compare_modelled=args.compare_modelled,
        )
    ]
    if args.json:
        print(json.dumps(rows))
        return
    print(f"CPU: {rows[0]['cpu'] if rows else cpu_name()}")
    print("| vectors | build | breadth | ef image / text | image p50 / p95 | image recall@10 | text p50 / p95 | text recall@10 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        i, t = r["image"], r["text"]
        way = r.get("calibration", "fixed")
        if "calibrated" in r:  # what the calibration itself measured, beside what these queries find
            image, text = r["calibrated"]["image"], r["calibrated"]["text"]  # type: ignore[index]
            measured = f"it measured {image['recall']} / {text['recall']}, text ceiling {text['ceiling_ms']:.1f} ms"
            way = f"{way} ({r['calibrate_s']} s; {measured})"
        print(
            f"| {r['vectors']:,} | {r['build_s']} s | {way} | {r['ef']['image']} / {r['ef']['text']} |"  # type: ignore[index]
            f" {i['p50_ms']} / {i['p95_ms']} ms | {i['recall_at_10']} |"  # type: ignore[index]
            f" {t['p50_ms']} / {t['p95_ms']} ms | {t['recall_at_10']} |"  # type: ignore[index]
        )
    compared = [r for r in rows if "small_pages" in r["image"]]  # type: ignore[operator]
    if compared:
        print("\n| vectors | ef image / text | huge pages | image p50 / p95: huge vs 4 KB pages | text p50 / p95: huge vs 4 KB |")
        print("|---|---|---|---|---|")
        for r in compared:
            cells = []
            for kind in ("image", "text"):
                h, s4 = r[kind], r[kind]["small_pages"]  # type: ignore[index]
                assert isinstance(h, dict)
                cells.append(
                    f"{h['p50_ms']} / {h['p95_ms']} vs {s4['p50_ms']} / {s4['p95_ms']} ms ({s4['p95_ms'] / h['p95_ms']:.2f}x)"
                )
            ef = r["ef"]
            print(f"| {r['vectors']:,} | {ef['image']} / {ef['text']} | {r['huge_page_mb']} MB | {cells[0]} | {cells[1]} |")  # type: ignore[index]


if __name__ == "__main__":
    main()
