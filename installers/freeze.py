"""Freeze the app into one folder, the payload of every installer (Linux, Windows, macOS).

    python3 installers/freeze.py [--env DIR] [--system-libs] [--torch-index URL] [--ffmpeg PREFIX]

1. A build environment of its own (default `build/installer-env`), made once per version of
   `installers/requirements.txt` and `constraints.txt` (every other package's version): the
   CPU build of torch, hnswlib compiled for any CPU of the architecture
   (HNSWLIB_NO_NATIVE=1, never a cached wheel), and PyAV built against our LGPL FFmpeg
   (`lgpl_av.py`, which builds FFmpeg with `ffmpeg/build.sh` the first time).
2. THIRD_PARTY_LICENSES.txt from that environment.
3. PyInstaller with `installers/photosearch.spec` into `build/pyinstaller/dist/photosearch`.
4. Linux: strip torch's own libraries (only those: stripping manylinux libraries breaks them).
5. `check_bundle.py`: the build fails on a missing file, a CUDA library, a GPL library or a
   native hnswlib.

Needs Python 3.11 (the version the app is tested with), a C compiler, make, nasm (x86) and,
on Linux, pkg-config and a C++ compiler.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = ROOT / "build"
DIST = BUILD / "pyinstaller" / "dist" / "photosearch"
REQUIREMENTS = HERE / "requirements.txt"
CONSTRAINTS = HERE / "constraints.txt"

sys.path.insert(0, str(HERE))
from bundle_contents import MACOS_MINIMUM  # noqa: E402
from lgpl_av import lgpl_av_wheel, run  # noqa: E402


def env_python(env_dir: Path) -> Path:
    return env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def build_environment(env_dir: Path, torch_index: str | None, ffmpeg: Path | None) -> Path:
    """The build venv, (re)installed when the requirements or our PyAV wheel changed since."""
    python = env_python(env_dir)
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(env_dir)
    av_wheel = lgpl_av_wheel(python, ffmpeg, MACOS_MINIMUM if sys.platform == "darwin" else None)
    made_of = REQUIREMENTS.read_bytes() + CONSTRAINTS.read_bytes() + (torch_index or "").encode() + str(av_wheel).encode()
    digest = hashlib.sha256(made_of).hexdigest()
    stamp = env_dir / ".requirements-sha256"
    if stamp.is_file() and stamp.read_text() == digest:
        return python
    shutil.rmtree(env_dir)
    venv.EnvBuilder(with_pip=True).create(env_dir)
    environment = {**os.environ, "HNSWLIB_NO_NATIVE": "1"}
    extra = ["--extra-index-url", torch_index] if torch_index else []
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-cache-dir", "--no-binary", "hnswlib"]
    run(*pip, *extra, av_wheel, "-r", REQUIREMENTS, "-c", CONSTRAINTS, env=environment)
    stamp.write_text(digest)
    return python


def strip_torch(dist: Path) -> None:
    strip = shutil.which("strip")
    if strip is None or not sys.platform.startswith("linux"):
        return
    for library in sorted((dist / "_internal" / "torch" / "lib").glob("*.so*")):
        if library.is_file() and not library.is_symlink():
            run(strip, "--strip-unneeded", library)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", type=Path, default=BUILD / "installer-env", help="the build environment (made when missing)")
    parser.add_argument(
        "--system-libs", action="store_true", help="leave the system's own libraries out (a .deb depends on them)"
    )
    parser.add_argument("--torch-index", help="package index with the CPU build of torch (https://download.pytorch.org/whl/cpu)")
    parser.add_argument("--ffmpeg", type=Path, help="an FFmpeg built by ffmpeg/build.sh (Windows; elsewhere it is built here)")
    args = parser.parse_args()
    started = time.monotonic()
    python = build_environment(args.env.resolve(), args.torch_index, args.ffmpeg)
    licenses = BUILD / "licenses" / "THIRD_PARTY_LICENSES.txt"
    run(python, HERE / "collect_licenses.py", licenses)
    icons = BUILD / "icons"
    if sys.platform in ("win32", "darwin"):
        run(python, HERE / "make_icons.py", icons)
    environment = {
        **os.environ,
        "PHOTOSEARCH_LICENSES": str(licenses),
        "PHOTOSEARCH_SYSTEM_LIBS": "system" if args.system_libs else "bundle",
        "PHOTOSEARCH_ICONS": str(icons),
        # the analysis imports every torch module, and each old one warns: thousands of lines
        "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::FutureWarning,ignore::UserWarning",
    }
    work = BUILD / "pyinstaller"
    pyinstaller = [python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    run(*pyinstaller, "--distpath", work / "dist", "--workpath", work / "work", HERE / "photosearch.spec", env=environment)
    strip_torch(DIST)
    run(python, HERE / "check_bundle.py", DIST, "--report", BUILD / "bundle-report.json")
    print(f"freeze: {DIST} in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
