"""The installers' FFmpeg (LGPL, decoders only) against PyPI's PyAV wheel, in one run.

    python benchmarks/ffmpeg_builds.py [--wheel build/ffmpeg/av-*/repaired/av-*.whl] [--seconds 120] [--rounds 3] [--json]

The installers build PyAV against an FFmpeg of their own (installers/ffmpeg/build.sh) instead
of PyPI's, which links GPL encoders. Both decode with FFmpeg's own decoders and assembly, so
indexing a video should cost the same; this measures it. Videos of --seconds at 1280×720 with
a keyframe every 2 s are written once with PyPI's encoders (H.264, HEVC, VP9, AV1, MPEG-4 part 2),
then `core/video.py`'s `load_video` indexes each with either build, in turns (each round runs
both builds, in a fresh process each), and the medians are compared. The wheel is the one
`make deb` left under build/ffmpeg; every figure comes from this one run on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
from common import cpu_name

ROOT = Path(__file__).resolve().parents[1]
# codec name in PyPI's FFmpeg → (file suffix, what it is)
CODECS = {
    "libx264": (".mp4", "H.264"),
    "libx265": (".mp4", "HEVC"),
    "libvpx-vp9": (".webm", "VP9"),
    "libsvtav1": (".mkv", "AV1"),
    "mpeg4": (".mov", "MPEG-4 part 2"),
}
MEASURE = """
import json, sys, time
from photosearch.core.video import load_video
import av._core
times = {}
for path in sys.argv[1:]:
    started = time.perf_counter()
    frames = load_video(path, 224, thumbnail=320)
    times[path] = [time.perf_counter() - started, len(frames.times)]
print(json.dumps({"configuration": av._core.library_meta["libavcodec"]["configuration"][:60], "times": times}))
"""


def write_clip(path: Path, codec: str, seconds: int) -> Path:
    """1280×720, a keyframe every 2 s, encoded at 2 frames/s (only keyframes are decoded)."""
    import av

    rng = np.random.default_rng(3)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=2)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.codec_context.gop_size = 4
        stream.codec_context.time_base = Fraction(1, 2)
        base = rng.integers(0, 255, (720 // 8, 1280 // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
        for index in range(seconds * 2):
            picture = np.roll(base, index * 16, axis=1) ^ rng.integers(0, 24, base.shape, dtype=np.uint8)  # motion and grain
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def measure(files: list[Path], site: Path | None) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site) if site else "", str(ROOT)]))}
    command = [sys.executable, "-c", MEASURE, *map(str, files)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel", type=Path, help="the installers' PyAV wheel (default: the newest under build/ffmpeg)")
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    wheel = args.wheel or max((ROOT / "build" / "ffmpeg").glob("av-*/repaired/av-*.whl"), key=lambda p: p.stat().st_mtime)
    with tempfile.TemporaryDirectory() as scratch:
        site = Path(scratch) / "site"
        zipfile.ZipFile(wheel).extractall(site)
        files = [write_clip(Path(scratch) / f"{codec}{suffix}", codec, args.seconds) for codec, (suffix, _) in CODECS.items()]
        runs: dict[str, list[dict]] = {"pypi": [], "ours": []}
        for _ in range(args.rounds):
            runs["pypi"].append(measure(files, None))
            runs["ours"].append(measure(files, site))
        rows = []
        for path, (codec, (_, name)) in zip(files, CODECS.items(), strict=True):
            pypi = statistics.median(run["times"][str(path)][0] for run in runs["pypi"])
            ours = statistics.median(run["times"][str(path)][0] for run in runs["ours"])
            frames = runs["ours"][0]["times"][str(path)][1], runs["pypi"][0]["times"][str(path)][1]
            rows.append({"codec": name, "encoder": codec, "pypi_s": round(pypi, 3), "ours_s": round(ours, 3),
                         "ours_over_pypi": round(ours / pypi, 3), "frames_ours_pypi": frames})  # fmt: skip
    flags = sorted({flag for flag in Path("/proc/cpuinfo").read_text().split() if flag.startswith("avx512")})
    report = {"cpu": cpu_name(), "avx512": flags, "seconds": args.seconds, "rounds": args.rounds, "wheel": wheel.name,
              "pypi_configuration": runs["pypi"][0]["configuration"], "ours_configuration": runs["ours"][0]["configuration"],
              "videos": rows}  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{report['cpu']} ({', '.join(flags) or 'no AVX-512'}); {args.seconds} s videos at 1280×720, medians of {args.rounds}")
    for row in rows:
        print(f"  {row['codec']:14s} PyPI {row['pypi_s']:.3f} s   ours {row['ours_s']:.3f} s   ×{row['ours_over_pypi']:.2f}")


if __name__ == "__main__":
    main()
