"""Which int8 image graph: each way of quantising, its speed and its agreement, in one run.

    python benchmarks/int8_variants.py --models tiny-shapes,ViT-B-32-256 --json

For each model (the bundled tiny one with its trained weights; real architectures with random
weights, seeded), the exact ONNX image graph is quantised several ways:

- dynamic: int8 weights, activations scaled per batch at run time (per-channel or per-tensor
  weights), what `--backend onnx-int8` has run so far;
- static (QDQ): activation scales calibrated once on photos, int8 weights per channel;
- either with the sensitive MatMuls kept exact: those fed by a LayerNorm, and the projection.

Each is measured on the held-out evaluation photos decoded as the pipeline decodes them
(calibration uses other photos): images/s of the graph alone (batch 32, the library's
threads), and its agreement with the exact graph (`int8_agreement.measure`: least and mean
cosine, recall@10 of text and image searches).

With `--trial`, each model also indexes the held-out photos as a new library on the automatic
backend does (`int8_trial`): the choice it makes, its figures, and what the trial cost (the
indexing time against the same library indexed with the exact graph alone).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from common import cpu_name, random_weight_spec

from photosearch.core.images import load_for_model
from photosearch.core.library import Library
from photosearch.core.models.embedder import Embedder
from photosearch.core.models.int8_agreement import measure
from photosearch.core.models.registry import get_model
from photosearch.samples import evaluation, synthetic

BATCH = 32


def session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run(graph: Any, pixels: np.ndarray) -> np.ndarray:
    out = [graph.run(None, {"pixels": pixels[i : i + BATCH]})[0] for i in range(0, len(pixels), BATCH)]
    vectors = np.concatenate(out).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def speed(graph: Any, pixels: np.ndarray, count: int = 96) -> float:
    batch = pixels[:BATCH]
    graph.run(None, {"pixels": batch})
    started, done = time.perf_counter(), 0
    while done < count:
        graph.run(None, {"pixels": batch})
        done += len(batch)
    return done / (time.perf_counter() - started)


def sensitive_nodes(path: Path) -> list[str]:
    """MatMuls fed by a LayerNorm (directly or through a Cast), and the last MatMul (the projection)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    producer = {output: node for node in graph.node for output in node.output}
    matmuls = [node for node in graph.node if node.op_type in ("MatMul", "Gemm")]

    def fed_by_norm(node: Any) -> bool:
        source = producer.get(node.input[0])
        while source is not None and source.op_type in ("Cast", "Reshape", "Transpose"):
            source = producer.get(source.input[0])
        return source is not None and source.op_type in ("LayerNormalization", "SimplifiedLayerNormalization")

    chosen = [node.name for node in matmuls if fed_by_norm(node)]
    if matmuls and matmuls[-1].name not in chosen:
        chosen.append(matmuls[-1].name)
    return chosen


class Calibration:
    """The calibration photos, batch by batch, as the quantiser reads them."""

    def __init__(self, pixels: np.ndarray) -> None:
        self.batches = iter([{"pixels": pixels[i : i + 8]} for i in range(0, len(pixels), 8)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.batches, None)


def variants(source: Path, calibration: np.ndarray, scratch: Path) -> dict[str, Callable[[], Path]]:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static

    sensitive = sensitive_nodes(source)

    def dynamic(per_channel: bool, keep: list[str]) -> Callable[[], Path]:
        def make() -> Path:
            made = scratch / f"dynamic-{per_channel}-{len(keep)}.onnx"
            quantize_dynamic(source, made, weight_type=QuantType.QInt8, per_channel=per_channel, nodes_to_exclude=keep)
            return made

        return make

    def static(keep: list[str], method: Any) -> Callable[[], Path]:
        def make() -> Path:
            made = scratch / f"static-{len(keep)}-{method.name}.onnx"
            quantize_static(
                source,
                made,
                Calibration(calibration),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=keep,
                calibrate_method=method,
                extra_options={"CalibMovingAverage": True} if method == CalibrationMethod.MinMax else {},
            )
            return made

        return make

    return {
        "dynamic, per-channel (today's onnx-int8)": dynamic(True, []),
        "dynamic, per-tensor": dynamic(False, []),
        f"dynamic, per-channel, {len(sensitive)} sensitive MatMuls exact": dynamic(True, sensitive),
        "static QDQ, per-channel, min-max": static([], CalibrationMethod.MinMax),
        f"static QDQ, per-channel, min-max, {len(sensitive)} sensitive MatMuls exact": static(
            sensitive, CalibrationMethod.MinMax
        ),
    }


def one_model(name: str, photos: list[Path], calibration_photos: list[Path], threads: int, scratch: Path) -> dict[str, Any]:
    tiny = name == "tiny-shapes"
    spec = get_model(name) if tiny else random_weight_spec(name)
    exact = Embedder(spec, device="cpu", threads=threads, random_weights=not tiny, backend="onnx")
    folder = exact.towers.folder
    size = exact.image_size
    pixels = np.stack([load_for_model(path, size)[0] for path in photos])
    calibration = np.stack([load_for_model(path, size)[0] for path in calibration_photos])
    texts = [f"a photo of a {label.key}" for label in synthetic.all_labels()]
    text_vectors = exact.encode_texts(texts)
    source = scratch / f"{name}-image.onnx"
    import onnx

    model = onnx.load(str(folder / "image.onnx"))
    del model.graph.value_info[:]  # the exporter's shape notes can trip the quantiser's own inference
    onnx.save(model, str(source))
    del model
    reference = session(source, threads)
    exact_vectors = run(reference, pixels)
    result: dict[str, Any] = {"model": name, "photos": len(photos), "exact_images_per_s": round(speed(reference, pixels), 2)}
    rows = []
    for label, make in variants(source, calibration, scratch).items():
        started = time.perf_counter()
        try:
            made = make()
        except Exception as exc:  # a variant the quantiser cannot make for this architecture
            rows.append({"variant": label, "failed": f"{type(exc).__name__}: {str(exc)[:200]}"})
            continue
        quantise_s = time.perf_counter() - started
        graph = session(made, threads)
        vectors = run(graph, pixels)
        agreement = measure(exact_vectors, vectors, text_vectors)
        rows.append(
            {
                "variant": label,
                "images_per_s": round(speed(graph, pixels), 2),
                "quantise_s": round(quantise_s, 1),
                "size_mb": round(made.stat().st_size / 1e6, 1),
                **agreement.to_json(),
                "holds": agreement.holds,
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    result["variants"] = rows
    return result


def trial(name: str, photos_folder: Path, threads: int, scratch: Path) -> dict[str, Any]:
    """A new library on the automatic backend (it tries int8) against one told to be exact."""
    random_weights = name != "tiny-shapes"
    timings = {}
    for backend in ("onnx", None):
        home = scratch / f"trial-{name}-{backend or 'auto'}"
        with Library(home, model=name, threads=threads, random_weights=random_weights, backend=backend) as library:
            library.load_model()
            library.add_folder(photos_folder)
            started = time.perf_counter()
            library.index()
            timings[backend or "auto"] = time.perf_counter() - started
            choice = library.int8_choice()
            graphs = library.catalog.vectors_by_graph(name)
    assert choice is not None, "the held-out photos are more than a trial's worth"
    return {
        "chosen": choice.chosen,
        "why": choice.why,
        "index_s_exact": round(timings["onnx"], 1),
        "index_s_auto": round(timings["auto"], 1),
        "vectors_by_graph": graphs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny-shapes,ViT-B-32-256")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--trial", action="store_true", help="also index the photos as a new library would (int8_trial)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="int8-variants-") as work:
        scratch = Path(work)
        photos = sorted(evaluation.write_evaluation_library(scratch / "held-out"))
        rng = random.Random(5)
        calibration = [
            synthetic.write_photo(scratch / "calibration" / f"c{i:03d}.jpg", label, (1200, 900), rng)
            for i, label in enumerate(synthetic.all_labels() * 2)
        ][:64]
        held_out = [Path(p) for p in photos]
        results = [one_model(name, held_out, calibration, args.threads, scratch) for name in args.models.split(",")]
        if args.trial:
            for result in results:
                result["trial"] = trial(str(result["model"]), scratch / "held-out", args.threads, scratch)
    report = {"cpu": cpu_name(), "threads": args.threads, "models": results}
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
