"""Check a frozen app folder: the files it cannot do without, nothing it must not carry.

    python installers/check_bundle.py DIST_FOLDER [--report FILE.json] [--copyleft-only]

Fails (exit 1, one line per problem) when a required file is missing, when a left-out file
came back, when CUDA libraries slipped in, when a GPL library or a GPL build of FFmpeg is
inside (the app is MIT, its libraries LGPL at most), or when hnswlib was compiled for the
build machine's CPU (AVX-512 instructions: it would crash on older CPUs). Prints the sizes
that dominate the folder.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bundle_contents import FFMPEG_COPYLEFT, FFMPEG_LIBRARIES, GPL_LIBRARIES, excluded, required_here


def library_folder(dist: Path) -> Path:
    for candidate in (dist / "_internal", dist / "Contents" / "Frameworks", dist):
        if (candidate / "photosearch").is_dir():
            return candidate
    raise SystemExit(f"check_bundle: no photosearch package under {dist}")


def wide_vector_instructions(library: Path) -> dict[str, int]:
    """How many AVX-512 (zmm) and AVX (ymm) register uses the disassembly shows."""
    listing = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", str(library)], capture_output=True, text=True, check=True
    ).stdout
    return {"zmm": listing.count("%zmm"), "ymm": listing.count("%ymm")}


def _elf_files(folder: Path) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and (".so" in path.name or path.name in ("photosearch", "torch_shm_manager")):
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def unresolved_libraries(folder: Path, binaries: list[Path], library_root: Path) -> list[str]:
    """Shared libraries that a bundled binary needs and this system's loader cannot find (ldd),
    searching the bundle's library folder as the app's launcher makes it (LD_LIBRARY_PATH):
    some wheels' libraries find their neighbours only through it or their loader's RPATH."""
    missing = set()
    env = {**os.environ, "LD_LIBRARY_PATH": str(library_root)}
    for path in binaries:
        result = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env)
        for line in result.stdout.splitlines():
            if "not found" in line:
                missing.add(f"{line.split()[0]} (needed by {path.relative_to(folder)})")
    return sorted(missing)


def gpl_parts(folder: Path) -> list[str]:
    """Libraries under the GPL (or FFmpeg built with GPL or non-free parts) in the folder."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        name = path.name.lower()
        if any(fnmatch.fnmatch(name, pattern) for pattern in GPL_LIBRARIES):
            found.append(f"{path.relative_to(folder).as_posix()} (GPL)")
        elif any(fnmatch.fnmatch(name, pattern) for pattern in FFMPEG_LIBRARIES):
            content = path.read_bytes()
            where = path.relative_to(folder).as_posix()
            found += [f"{where} (FFmpeg built {flag.decode()})" for flag in FFMPEG_COPYLEFT if flag in content]
    return found


def sizes(folder: Path, top: int = 12) -> list[tuple[str, int]]:
    """The biggest files and package folders, one level into the library folder."""
    totals: dict[str, int] = {}
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            relative = path.relative_to(folder).parts
            key = "/".join(relative[:2]) if relative[0] in ("torch", "PySide6") and len(relative) > 2 else relative[0]
            totals[key] = totals.get(key, 0) + path.stat().st_size
    return sorted(totals.items(), key=lambda item: -item[1])[:top]


def check(dist: Path) -> tuple[list[str], dict[str, object]]:
    root = library_folder(dist)
    problems = []
    files = sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())
    for pattern in required_here():
        if not fnmatch.filter(files, pattern):
            problems.append(f"missing: {pattern}")
    problems += [f"should have been left out: {path}" for path in files if excluded(path)]
    cuda = [
        p.name
        for p in root.rglob("*.so*")
        if any(word in p.name.lower() for word in ("libcudart", "cudnn", "libnvrtc", "cublas"))
    ]
    if cuda:
        problems.append(f"CUDA libraries in a CPU build: {', '.join(sorted(cuda)[:5])}")
    problems += [f"copyleft the app cannot carry: {part}" for part in gpl_parts(dist)]
    report: dict[str, object] = {}
    binaries = _elf_files(dist)
    hnswlib = [path for path in binaries if path.parent == root and path.name.startswith("hnswlib")]
    if hnswlib and sys.platform.startswith("linux") and shutil.which("objdump"):
        counts = wide_vector_instructions(hnswlib[0])
        report["hnswlib_instructions"] = counts
        if counts["zmm"]:
            problems.append(
                f"hnswlib was compiled for this machine's CPU ({counts['zmm']} AVX-512 instructions): HNSWLIB_NO_NATIVE=1"
            )
    if sys.platform.startswith("linux") and shutil.which("ldd"):
        problems += [f"library not found: {line}" for line in unresolved_libraries(dist, binaries, root)]
    total = sum(p.stat().st_size for p in dist.rglob("*") if p.is_file() and not p.is_symlink())
    report["total_bytes"] = total
    report["largest"] = sizes(root)
    return problems, report


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dist", type=Path)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--copyleft-only", action="store_true", help="only look for GPL parts (an installed app: test.sh)")
    args = parser.parse_args()
    if args.copyleft_only:
        parts = gpl_parts(args.dist)
        for part in parts:
            print(f"check_bundle: copyleft the app cannot carry: {part}", file=sys.stderr)
        return 1 if parts else 0
    problems, report = check(args.dist)
    print(f"check_bundle: {args.dist}: {report['total_bytes'] / 1e6:.0f} MB")
    for name, size in report["largest"]:  # type: ignore[attr-defined]
        print(f"  {size / 1e6:7.1f} MB  {name}")
    if "hnswlib_instructions" in report:
        print(f"  hnswlib: {report['hnswlib_instructions']}")
    if args.report:
        args.report.write_text(json.dumps(report, indent=1))
    for problem in problems:
        print(f"check_bundle: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
