"""JPEG decoding for the model on all CPU cores (Pillow, DCT-scaled) vs on the GPU (nvJPEG), in one run.

    python benchmarks/gpu_decode.py --photos DIR --json

On a GPU machine the model embeds thousands of images a second and decoding sets the pace.
This measures both ways of producing the model's (size × size) upright RGB input from the
same files, file reading and EXIF orientation included:

- cpu: `images.load_for_model` (what the pipeline runs) on a pool of threads, one per core;
- gpu: files read by threads, batches decoded by torchvision's nvJPEG binding on the GPU,
  then rotated per EXIF and resized with antialiasing there.

Prints {"cpu_images_per_s", "gpu_images_per_s", ...}. Needs torchvision with CUDA for the GPU row.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import decode_ceiling, ensure_photos
from PIL import Image

from photosearch.core.images import centre_crop_box


def _read(path: Path) -> tuple[bytes, int]:
    data = path.read_bytes()
    with Image.open(path) as image:  # header only: Pillow reads EXIF without decoding pixels
        orientation = int(image.getexif().get(0x0112, 1) or 1)
    return data, orientation


def gpu_rate(files: list[Path], size: int, workers: int, batch: int) -> float:
    import torch
    import torch.nn.functional as F
    from torchvision.io import ImageReadMode, decode_jpeg

    def upright(pixels: torch.Tensor, orientation: int) -> torch.Tensor:
        turns = {3: 2, 6: 3, 8: 1}.get(orientation, 0)  # the transposes our generator uses
        return torch.rot90(pixels, turns, dims=(1, 2)) if turns else pixels

    def to_model(pixels: torch.Tensor) -> torch.Tensor:
        left, top, right, bottom = centre_crop_box(pixels.shape[2], pixels.shape[1])
        crop = pixels[:, top:bottom, left:right].unsqueeze(0).float()
        return F.interpolate(crop, size=(size, size), mode="bicubic", antialias=True).clamp_(0, 255).to(torch.uint8)

    def run(subset: list[Path]) -> int:
        done = 0
        with ThreadPoolExecutor(max_workers=workers) as pool:
            reads = pool.map(_read, subset)
            pending: list[tuple[bytes, int]] = []
            for item in reads:
                pending.append(item)
                if len(pending) == batch:
                    done += _decode_batch(pending)
                    pending = []
            if pending:
                done += _decode_batch(pending)
        torch.cuda.synchronize()
        return done

    def _decode_batch(items: list[tuple[bytes, int]]) -> int:
        tensors = [torch.frombuffer(bytearray(data), dtype=torch.uint8) for data, _ in items]
        decoded = decode_jpeg(tensors, mode=ImageReadMode.RGB, device="cuda")
        out = torch.cat([to_model(upright(pixels, orientation)) for pixels, (_, orientation) in zip(decoded, items, strict=True)])
        return int(out.shape[0])

    run(files[: min(len(files), batch)])  # warm-up: CUDA context, nvJPEG handles
    started = time.perf_counter()
    done = run(files)
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", required=True)
    parser.add_argument("--count", type=int, default=512, help="photos to generate when --photos is empty")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    files = [f for f in ensure_photos(Path(args.photos), args.count) if f.suffix.lower() in (".jpg", ".jpeg")]
    cpu, _ = decode_ceiling(files, args.size, args.workers)
    gpu = gpu_rate(files, args.size, args.workers, args.batch)
    megabytes = sum(f.stat().st_size for f in files) / len(files) / 1e6
    result = {
        "cpu_images_per_s": round(cpu, 1),
        "gpu_images_per_s": round(gpu, 1),
        "photos": len(files),
        "mean_file_mb": round(megabytes, 2),
        "workers": args.workers,
        "batch": args.batch,
    }
    print(json.dumps(result) if args.json else f"cpu {cpu:.0f} images/s, gpu (nvJPEG) {gpu:.0f} images/s")


if __name__ == "__main__":
    main()
