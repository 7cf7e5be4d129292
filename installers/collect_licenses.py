"""Write THIRD_PARTY_LICENSES.txt: every distribution the frozen app carries, with its licence.

Run with the build environment's Python (it reads that environment's metadata). It walks the
requirements from photosearch's own pyproject.toml down, leaves out what the bundle excludes,
and copies each distribution's licence files (torch's, numpy's and pillow's include the native
libraries bundled in their wheels; PyAV's FFmpeg and pi-heif's libheif are read from the
libraries themselves, rawpy's LibRaw is named by BUNDLED_NATIVE). Qt (through PySide6) ships no licence
file of its own, so the LGPL and GPL texts come from `installers/licenses/`, and CPython's from
the interpreter the app is frozen with.

    python installers/collect_licenses.py OUTPUT_FILE
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import sys
import sysconfig
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bundle_contents import EXCLUDED_MODULES, FFMPEG_COPYLEFT, ROOT  # noqa: E402

EXCLUDED = {canonicalize_name(name) for name in [*EXCLUDED_MODULES, "hf-xet", "setuptools", "pip"]}
LICENCE_WORDS = ("licen", "copying", "notice", "copyright", "authors")
NO_FILE = {  # distributions whose wheels carry no licence text: the texts they name
    "pyside6-essentials": ["LGPL-3.0.txt", "GPL-3.0.txt"],
    "shiboken6": ["LGPL-3.0.txt", "GPL-3.0.txt"],
    "flatbuffers": ["Apache-2.0.txt"],
}
# native libraries inside a wheel whose own licence files do not name them (or name other
# versions): what they are, and the licence the build as shipped is under
BUNDLED_NATIVE: dict[str, tuple[str, str, list[str]]] = {
    "rawpy": (
        "bundles LibRaw: LGPL-2.1-only or CDDL-1.0",
        "rawpy's wheel bundles LibRaw (its licence, LGPL-2.1 or CDDL-1.0, follows as LICENSE.LibRaw), "
        "with libjpeg, Little CMS, JasPer and libgomp.",
        [],
    ),
}
FFMPEG_BUILD = HERE / "ffmpeg" / "build.sh"


def _ffmpeg_entry() -> tuple[str, str, list[str]]:
    """What this environment's PyAV carries, read from its FFmpeg (our LGPL build in the
    installers; PyPI's wheel, with GPL parts, in a development environment)."""
    import av._core as ffmpeg

    version = ffmpeg.ffmpeg_version_info
    configuration = ffmpeg.library_meta["libavcodec"]["configuration"]
    if any(flag.decode() in configuration for flag in FFMPEG_COPYLEFT):  # the same test as check_bundle
        return (
            f"bundles FFmpeg {version}: GPL-2.0-or-later as built",
            f"PyAV's wheel bundles FFmpeg {version} built with GPL parts (libx264, libx265): as shipped, the "
            f"FFmpeg libraries are under the GNU GPL version 2 or later. Configuration: {configuration}",
            ["GPL-2.0.txt"],
        )
    build = FFMPEG_BUILD.read_text()

    def setting(name: str) -> str:
        match = re.search(rf"^{name}=(\S+)", build, re.MULTILINE)
        return match.group(1) if match else f"(see {FFMPEG_BUILD.name})"

    dav1d = "--enable-libdav1d" in configuration
    return (
        f"bundles FFmpeg {version}: LGPL-2.1-or-later"
        + (f", with dav1d {setting('DAV1D_VERSION')}: BSD-2-Clause" if dav1d else ""),
        f"PyAV is built against FFmpeg {version} ({ffmpeg.library_meta['libavcodec']['license']}), compiled by "
        f"photosearch's installers/ffmpeg/build.sh from the release tarball ffmpeg-{version}.tar.xz (sha256 "
        f"{setting('SHA256')}), unmodified: decoders, the MPEG-4 part 2 encoder, no GPL or non-free parts"
        + (f"; AV1 through dav1d {setting('DAV1D_VERSION')} (sha256 {setting('DAV1D_SHA256')}), BSD-2-Clause" if dav1d else "")
        + ". Those tarballs are published with every release beside the installers (and at https://ffmpeg.org/releases/"
        " and https://downloads.videolan.org/pub/videolan/dav1d/). The libraries are shared (replaceable). "
        f"Configuration: {configuration}",
        ["LGPL-2.1.txt", *(["dav1d-BSD-2-Clause.txt"] if dav1d else [])],
    )


def _heif_entry() -> tuple[str, str, list[str]]:
    """pi-heif's libheif and libde265, at the versions they report (its bundled notice names older ones)."""
    import pi_heif

    info = pi_heif.libheif_info()
    decoders = ", ".join(info.get("decoders", {}).values())
    return (
        f"bundles libheif {info['libheif']} and libde265: LGPL-3.0-or-later",
        f"pi-heif's wheel bundles libheif {info['libheif']} ({decoders}), both LGPL-3.0-or-later, and no "
        "HEVC encoder. Sources: https://github.com/strukturag/libheif, https://github.com/strukturag/libde265.",
        ["LGPL-3.0.txt"],
    )


def bundled_native(key: str) -> tuple[str, str, list[str]]:
    """(summary, note, licence texts) for a distribution carrying native libraries, or empty."""
    readers = {"av": _ffmpeg_entry, "pi-heif": _heif_entry}
    if key in readers:
        try:
            return readers[key]()
        except Exception as exc:  # an environment without it: say so rather than guess
            return ("", f"(could not read what {key} bundles: {exc})", [])
    return BUNDLED_NATIVE.get(key, ("", "", []))


RULE = "=" * 100


def closure(names: list[str]) -> list[metadata.Distribution]:
    """The installed distributions these requirement strings reach, in a stable order."""
    seen: dict[str, metadata.Distribution] = {}
    queue = [Requirement(name) for name in names]
    while queue:
        requirement = queue.pop()
        key = canonicalize_name(requirement.name)
        if key in seen or key in EXCLUDED:
            continue
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = distribution
        queue.extend(Requirement(text) for text in distribution.requires or [])
    return [seen[key] for key in sorted(seen)]


def licence_name(distribution: metadata.Distribution) -> str:
    meta = distribution.metadata
    expression = meta.get("License-Expression")
    if expression:
        return expression
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    short = (meta.get("License") or "").strip()
    if short and "\n" not in short and len(short) < 80:
        return short
    return ", ".join(classifiers) or "see the text below"


def licence_texts(distribution: metadata.Distribution) -> list[tuple[str, str]]:
    texts = []
    for file in distribution.files or []:
        name = str(file)
        if name.endswith((".py", ".pyc", ".so", ".dll", ".pyd", ".dylib")):
            continue
        if any(word in Path(name).name.lower() for word in LICENCE_WORDS) or "/licenses/" in name:
            try:
                texts.append((name, Path(str(file.locate())).read_text(encoding="utf-8", errors="replace")))
            except OSError:
                continue
    key = canonicalize_name(distribution.metadata["Name"])
    _, note, bundled = bundled_native(key)
    if note:
        texts.insert(0, ("bundled native libraries", note))
    for extra in [*NO_FILE.get(key, []), *bundled]:
        texts.append((extra, (HERE / "licenses" / extra).read_text()))
    return texts


def _bundles(distribution: metadata.Distribution) -> str:
    summary = bundled_native(canonicalize_name(distribution.metadata["Name"]))[0]
    return f" ({summary})" if summary else ""


def python_licence() -> str:
    candidates = [Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt", Path(sys.base_prefix) / "LICENSE.txt"]
    for path in candidates:
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
    raise SystemExit("collect_licenses: CPython's LICENSE.txt not found beside the interpreter")


def main(output: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    distributions = closure(list(project["project"]["dependencies"]))
    lines = ["Third-party software in this installation of photosearch", "", "Component, version: licence", ""]
    lines.append(f"CPython {sys.version.split()[0]}: PSF-2.0")
    lines += [f"{d.metadata['Name']} {d.version}: {licence_name(d)}{_bundles(d)}" for d in distributions]
    lines += ["", "The full licence texts follow, one block per component.", ""]
    lines += [RULE, f"CPython {sys.version.split()[0]}", RULE, python_licence()]
    for distribution in distributions:
        lines += [RULE, f"{distribution.metadata['Name']} {distribution.version}: {licence_name(distribution)}", RULE]
        for name, text in licence_texts(distribution):
            lines += [f"--- {name}", text.rstrip(), ""]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"collect_licenses: {len(distributions) + 1} components -> {output} ({output.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
