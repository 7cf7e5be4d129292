"""What the int8 image graph costs in quality and gains in speed, in one run.

    python benchmarks/int8_quality.py --models ViT-B-32-256,ViT-B-32 --json

For each real architecture (random weights, seeded): the cosine between every photo's int8
vector and its exact (fp32) vector on generated photos decoded as the pipeline decodes them,
the model-alone speed of both graphs, and the least cosine recorded on the export's probes.
Then the bundled tiny model's held-out measures (the table in docs/tiny-model.md) with each
backend, through the real pipeline. int8 is offered as an option only; it is never the default.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

import numpy as np
from common import ceiling, random_weight_spec

from photosearch.core.images import load_for_model
from photosearch.core.library import Library
from photosearch.core.models.embedder import Embedder
from photosearch.samples import evaluation, synthetic


def architecture(name: str, photos: list[Path], threads: int) -> dict[str, object]:
    spec = random_weight_spec(name)
    exact = Embedder(spec, device="cpu", threads=threads, random_weights=True, backend="onnx")
    int8 = Embedder(spec, device="cpu", threads=threads, random_weights=True, backend="onnx-int8")
    pixels = np.stack([load_for_model(path, exact.image_size)[0] for path in photos])
    cosines = []
    for first in range(0, len(pixels), 32):
        a, b = exact.encode_images(pixels[first : first + 32]), int8.encode_images(pixels[first : first + 32])
        cosines.extend((a * b).sum(axis=1).tolist())
    fp32_speed, int8_speed = ceiling(exact, 96, 32)[0], ceiling(int8, 96, 32)[0]
    return {
        "model": name,
        "photos": len(photos),
        "cosine_min": round(min(cosines), 5),
        "cosine_mean": round(float(np.mean(cosines)), 5),
        "probe_cosine_min": round(float(getattr(int8.towers, "int8_quality", 0.0) or 0.0), 5),
        "fp32_images_per_s": round(fp32_speed, 2),
        "int8_images_per_s": round(int8_speed, 2),
        "speed_up": round(int8_speed / fp32_speed, 2),
    }


def tiny_model(scratch: Path) -> dict[str, dict[str, float]]:
    truth = evaluation.write_evaluation_library(scratch / "held-out")
    measures = {}
    for backend in ("onnx", "onnx-int8"):
        with Library(scratch / backend, model="tiny-shapes", backend=backend) as library:
            library.add_folder(scratch / "held-out")
            library.index()
            measures[backend] = {name: round(value, 3) for name, value in evaluation.report(library, truth).items()}
    return measures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="ViT-B-32-256,ViT-B-32")
    parser.add_argument("--photos", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        rng = random.Random(3)
        labels = synthetic.all_labels()
        photos = [
            synthetic.write_photo(Path(scratch) / f"p{i:03d}.jpg", labels[i % len(labels)], (1600, 1200), rng)
            for i in range(args.photos)
        ]
        result = {
            "architectures": [architecture(name, photos, args.threads) for name in args.models.split(",")],
            "tiny_model_held_out": tiny_model(Path(scratch)),
        }
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
