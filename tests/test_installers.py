"""The installers' parts that can be checked without building the app (seconds, not minutes):
the desktop entry, the NSIS script compiled by makensis against a stand-in payload, the release
and CI workflows against GitHub's schema (and what CI runs where), the frozen entry script's imports, the bundle's file list
and its checker, and the licence collection.

The full proof (freeze, .deb, install as root, run, purge) is `installers/linux/build.sh`
followed by `installers/linux/test.sh`; see docs/installers.md.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALLERS = ROOT / "installers"
sys.path.insert(0, str(INSTALLERS))

import bundle_contents  # noqa: E402
import check_bundle  # noqa: E402
import release_version  # noqa: E402


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{name} is not installed (tools/install_system_deps.sh installs it)")
    return found


def test_the_desktop_entry_is_valid_and_opens_photos() -> None:
    entry = INSTALLERS / "linux" / "photosearch.desktop"
    result = subprocess.run([_tool("desktop-file-validate"), str(entry)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
    fields = dict(line.split("=", 1) for line in entry.read_text().splitlines() if "=" in line)
    assert fields["Exec"] == "photosearch gui %F" and fields["Icon"] == "photosearch"
    assert {"image/jpeg", "image/png", "image/heic", "image/avif", "image/x-adobe-dng", "video/mp4", "video/quicktime"} <= set(
        fields["MimeType"].split(";")
    )


def test_the_software_centre_entry_is_valid_and_names_this_version() -> None:
    """GNOME Software and KDE Discover describe an installed package from its AppStream file."""
    import xml.etree.ElementTree as ElementTree

    from photosearch import __version__

    metainfo = INSTALLERS / "linux" / "org.photosearch.photosearch.metainfo.xml"
    result = subprocess.run([_tool("appstreamcli"), "validate", "--no-net", str(metainfo)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    component = ElementTree.parse(metainfo).getroot()
    assert component.findtext("launchable") == "photosearch.desktop"
    assert component.find("releases/release").get("version") == __version__  # type: ignore[union-attr]


def test_the_installer_scripts_pass_shellcheck() -> None:
    scripts = [str(p) for folder in ("linux", "macos", "ffmpeg") for p in sorted((INSTALLERS / folder).glob("*.sh"))]
    result = subprocess.run(
        [_tool("shellcheck"), *scripts, str(ROOT / "tools" / "install_system_deps.sh")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_the_nsis_script_compiles_against_a_stand_in_payload(tmp_path: Path) -> None:
    payload = tmp_path / "payload"
    notices = payload / "_internal" / "photosearch" / "resources" / "licenses"
    notices.mkdir(parents=True)
    shutil.copy(ROOT / "photosearch" / "resources" / "licenses" / "THIRD_PARTY_NOTICES.md", notices)
    for program in ("photosearch.exe", "photosearchw.exe"):
        (payload / program).write_bytes(b"MZ stand-in")
    output = tmp_path / "setup.exe"
    command = [_tool("makensis"), "-V2", "-DVERSION=0.1.0", f"-DPAYLOAD={payload}", f"-DOUTFILE={output}"]
    result = subprocess.run([*command, str(INSTALLERS / "windows" / "photosearch.nsi")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert output.read_bytes()[:2] == b"MZ" and output.stat().st_size > 50_000


def _workflow_makensis(version: str, numeric: str) -> str:
    """The release workflow's own makensis command, with Linux's makensis and these versions."""
    from ruamel.yaml import YAML

    workflow = YAML(typ="safe").load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    script = next(
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if step.get("name") == "Build the installer"
    )
    command = script.replace("\\\n", " ").split("\n")
    makensis = next(line for line in command if "makensis.exe" in line).strip()
    makensis = makensis.replace('"/c/Program Files (x86)/NSIS/makensis.exe"', _tool("makensis"))
    return makensis.replace("$version", version).replace("$numeric", numeric)


def _stand_in_checkout(root: Path) -> Path:
    """A checkout's root with a stand-in frozen payload, an icon and the script, as the workflow has them."""
    from PIL import Image

    checkout = root / "checkout"
    payload = checkout / "build" / "pyinstaller" / "dist" / "photosearch"
    notices = payload / "_internal" / "photosearch" / "resources" / "licenses"
    notices.mkdir(parents=True)
    shutil.copy(ROOT / "photosearch" / "resources" / "licenses" / "THIRD_PARTY_NOTICES.md", notices)
    for program in ("photosearch.exe", "photosearchw.exe"):
        (payload / program).write_bytes(b"MZ stand-in")
    (checkout / "build" / "icons").mkdir(parents=True)
    Image.new("RGBA", (48, 48), (40, 120, 200, 255)).save(checkout / "build" / "icons" / "photosearch.ico", sizes=[(48, 48)])
    (checkout / "installers" / "windows").mkdir(parents=True)
    shutil.copy(INSTALLERS / "windows" / "photosearch.nsi", checkout / "installers" / "windows")
    (checkout / "dist").mkdir()
    return checkout


def test_the_windows_installer_compiles_as_the_release_workflow_runs_makensis(tmp_path: Path) -> None:
    """The release workflow's own makensis command, run from a checkout's root with its relative
    payload and icon (makensis changes into the script's folder unless told not to, and the
    relative paths then miss: issue 29)."""
    # a pre-release, as a tag may name one: Windows' version resource takes four numbers only
    version, numeric = "0.2.0rc1", release_version.windows_numbers("0.2.0rc1")
    assert numeric == "0.2.0.0"
    makensis = _workflow_makensis(version, numeric)
    checkout = _stand_in_checkout(tmp_path)
    result = subprocess.run(["bash", "-c", makensis], cwd=checkout, capture_output=True, text=True)
    assert result.returncode == 0, makensis + "\n" + result.stdout + result.stderr
    assert (checkout / "dist" / "photosearch-0.2.0rc1-setup.exe").read_bytes()[:2] == b"MZ"


def test_a_signing_command_signs_the_installer_and_the_uninstaller_it_writes(tmp_path: Path) -> None:
    """With a certificate the workflow passes SIGN_COMMAND (installers/windows/sign.cmd); here a
    stand-in records what makensis hands it: the finished setup and the uninstaller inside it."""
    checkout = _stand_in_checkout(tmp_path)
    signed = tmp_path / "signed.txt"
    signer = tmp_path / "sign.sh"
    signer.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{signed}"\n')
    signer.chmod(0o755)
    makensis = _workflow_makensis("0.1.0", "0.1.0.0").replace('"${signing[@]}"', f"-DSIGN_COMMAND={signer}")
    result = subprocess.run(["bash", "-c", makensis], cwd=checkout, capture_output=True, text=True)
    assert result.returncode == 0, makensis + "\n" + result.stdout + result.stderr
    files = signed.read_text().splitlines()
    assert len(files) == 2 and any(f.endswith("photosearch-0.1.0-setup.exe") for f in files), files
    assert (INSTALLERS / "windows" / "sign.cmd").read_text().count("%1") == 2  # its comment, and signtool's argument


def test_a_release_is_made_only_from_a_tag_that_names_the_apps_version() -> None:
    check = [sys.executable, str(INSTALLERS / "release_version.py"), "--tag"]
    assert subprocess.run([*check, f"v{bundle_contents.version()}"], capture_output=True).returncode == 0
    wrong = subprocess.run([*check, "v9.9.9"], capture_output=True, text=True)
    assert wrong.returncode == 1 and "is not the app's version" in wrong.stderr
    assert release_version.windows_numbers("1.2") == "1.2.0.0" and release_version.windows_numbers("3.0.1.dev4") == "3.0.1.0"
    with pytest.raises(SystemExit):
        release_version.windows_numbers("70000.0.0")
    from ruamel.yaml import YAML

    workflow = YAML(typ="safe").load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    steps = [step.get("run", "") for step in workflow["jobs"]["publish"]["steps"]]
    assert any("release_version.py --tag" in run for run in steps)  # before anything is published
    assert steps.index(next(r for r in steps if "release_version.py --tag" in r)) < steps.index(
        next(r for r in steps if "gh release create" in r)
    )


@pytest.mark.parametrize("name", ["release.yml", "ci.yml"])
def test_the_workflows_validate_against_the_github_schema(name: str) -> None:
    workflow = ROOT / ".github" / "workflows" / name
    command = [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_the_checks_on_three_systems_and_three_pythons_and_everything_on_linux() -> None:
    from ruamel.yaml import YAML

    workflow = YAML(typ="safe").load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    assert {"push", "pull_request"} <= set(workflow["on"])
    checks = workflow["jobs"]["checks"]
    matrix = checks["strategy"]["matrix"]
    assert {os_name.split("-")[0] for os_name in matrix["os"]} == {"ubuntu", "macos", "windows"}
    assert matrix["python"] == ["3.11", "3.12", "3.13"]
    steps = " ".join(step.get("run", "") for step in checks["steps"])
    for check in ("ruff check", "ruff format --check", "mypy", "lint-imports", '-m "not slow"'):
        assert check in steps, check
    full = " ".join(step.get("run", "") for step in workflow["jobs"]["full-linux"]["steps"])
    assert "make test" in full and "ubuntu" in workflow["jobs"]["full-linux"]["runs-on"]


def test_the_frozen_entry_script_loads_no_qt_or_torch_before_it_knows_what_to_run() -> None:
    """The worker child re-runs the entry script: anything it imports at the top lands in every
    worker (Qt in the worker, or torch in the window)."""
    probe = (
        "import runpy, sys; runpy.run_path(sys.argv[1], run_name='not_main'); "
        "print(sorted(m for m in ('PySide6', 'torch', 'numpy', 'photosearch.gui', 'photosearch.core') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(INSTALLERS / "entry.py")], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    version = subprocess.run([sys.executable, str(INSTALLERS / "entry.py"), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("photosearch ")


def test_every_resource_the_package_carries_is_listed_for_the_bundle() -> None:
    """A resource added to the package but not to APP_DATA would be missing only when frozen."""
    resources = ROOT / "photosearch" / "resources"
    carried = {str(p.relative_to(ROOT)) for p in resources.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    listed = {source for source, _folder in bundle_contents.APP_DATA}
    assert carried == listed
    for source, folder in bundle_contents.APP_DATA:
        assert str(Path(source).parent) == folder  # the same place inside the bundle as in the package


def _stand_in_bundle(root: Path) -> Path:
    """A folder with a file at every required place (no real binaries)."""
    dist = root / "photosearch"
    library = dist / "_internal"
    for pattern in bundle_contents.required_here():
        path = library / pattern.replace("PySide6/*plugins", "PySide6/Qt/plugins").replace("*", "")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"stand-in")
    return dist


def test_the_bundle_check_fails_on_a_missing_tiny_model_and_a_file_left_out_coming_back(tmp_path: Path) -> None:
    dist = _stand_in_bundle(tmp_path)
    problems, report = check_bundle.check(dist)
    assert problems == [] and report["total_bytes"] > 0
    (dist / "_internal" / "photosearch" / "resources" / "models" / "tiny-shapes.safetensors").unlink()
    (dist / "_internal" / "torch" / "test").mkdir(parents=True)
    (dist / "_internal" / "torch" / "test" / "test_nn.py").write_text("")
    problems, _ = check_bundle.check(dist)
    assert problems == [
        "missing: photosearch/resources/models/tiny-shapes.safetensors",
        "should have been left out: torch/test/test_nn.py",
    ]


def test_left_out_paths_match_what_pyinstaller_names() -> None:
    assert bundle_contents.excluded("torch/test/test_nn.py")
    assert bundle_contents.excluded("PySide6/Qt/plugins/platforms/libqwayland-egl.so")
    assert bundle_contents.excluded("torchvision\\_C.pyd")  # Windows separators too
    assert bundle_contents.excluded("PySide6/plugins/platforms/qvnc.dll")  # Windows' PySide6 layout
    assert bundle_contents.excluded("PySide6/Qt6Pdf.dll") and bundle_contents.excluded("PySide6/Qt/lib/libQt6Pdf.so.6")
    assert not bundle_contents.excluded("PySide6/Qt/plugins/platforms/libqxcb.so")
    assert not bundle_contents.excluded("torch/lib/libtorch_cpu.so")
    assert bundle_contents.is_system_library("/usr/lib/x86_64-linux-gnu/libxcb.so.1")
    assert not bundle_contents.is_system_library("/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0")


def test_the_licence_list_names_every_runtime_dependency_with_its_text(tmp_path: Path) -> None:
    output = tmp_path / "THIRD_PARTY_LICENSES.txt"
    subprocess.run([sys.executable, str(INSTALLERS / "collect_licenses.py"), str(output)], check=True, capture_output=True)
    text = output.read_text()
    summary = text.split("The full licence texts follow")[0]
    for name in ("PySide6_Essentials", "torch", "open_clip_torch", "onnxruntime", "hnswlib", "numpy", "pillow", "CPython"):
        assert f"\n{name} " in summary or summary.startswith(name), name
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in text and "Version 3, 29 June 2007" in text
    assert "pytest" not in summary and "timm" not in summary  # development tools and excluded modules stay out


def test_a_windowed_build_without_stdout_writes_what_it_prints_to_the_log_folder(tmp_path: Path) -> None:
    """Windows and macOS start a windowed app with sys.stdout and sys.stderr None: the frozen
    entry script must give it somewhere to write (`photosearch --version` prints)."""
    probe = (
        "import runpy, sys; sys.stdout = sys.stderr = None; sys.argv = ['photosearch', '--version'];"
        "runpy.run_path(sys.argv_entry, run_name='__main__')"
    ).replace("sys.argv_entry", repr(str(INSTALLERS / "entry.py")))
    env = {**os.environ, "PHOTOSEARCH_LOG_DIR": str(tmp_path / "log")}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert result.returncode == 0 and result.stdout == ""
    assert (tmp_path / "log" / "console.log").read_text().startswith("photosearch ")


def test_the_windows_uninstaller_keeps_the_users_data_unless_asked_and_neither_runs_beside_the_app() -> None:
    """Read from the script (no Windows here; the release workflow installs and uninstalls it):
    the only section that removes settings or data is unticked by default, and both the setup and
    the uninstaller refuse to run while the app's mutex (photosearch/running.py) exists."""
    from photosearch import running

    script = (INSTALLERS / "windows" / "photosearch.nsi").read_text()
    sections = script.split("\nSection ")[1:]
    removing = [s for s in sections if 'DeleteRegKey HKCU "Software\\${APP}"' in s or "$LOCALAPPDATA\\${APP}" in s]
    assert len(removing) == 1 and removing[0].startswith("/o "), removing
    assert f'!define RUNNING_MUTEX "{running.MUTEX_NAME}"' in script
    for function in ("Function .onInit", "Function un.onInit"):
        assert script.split(function, 1)[1].split("FunctionEnd", 1)[0].strip() == "!insertmacro RefuseWhileRunning"
    entry = (INSTALLERS / "entry.py").read_text()
    assert entry.index("announce()") < entry.index("multiprocessing.freeze_support()")  # the worker holds it too
    # "Open with" through a ProgID per type, each taken back on uninstall, and only types the app reads
    import re

    from photosearch.records import MEDIA_SUFFIXES

    offered = set(re.findall(r'!insertmacro SupportedType "(\.\w+)"', script))
    assert offered == set(re.findall(r'!insertmacro ForgetType "(\.\w+)"', script)) and offered <= MEDIA_SUFFIXES
    assert script.count("SHChangeNotify") == 2  # Explorer is told after install and uninstall


# -- licences: decoders only, no GPL (issue 29, item 8) ------------------------------------------


def _ffmpeg_build_setting(name: str) -> set[str]:
    script = (INSTALLERS / "ffmpeg" / "build.sh").read_text()
    match = re.search(rf"^{name}=([\w,]+)", script, re.MULTILINE)
    assert match, name
    return set(match.group(1).split(","))


def test_the_installers_ffmpeg_opens_what_the_app_opens_and_carries_nothing_gpl() -> None:
    from photosearch.core.video import _DEMUXERS
    from photosearch.samples.videos import encoder_for

    assert _ffmpeg_build_setting("DEMUXERS") == set(_DEMUXERS.values())
    # the demo's and the self-test's videos (.mp4, .mov) are written with FFmpeg's own encoder
    assert {encoder_for(suffix) for suffix in (".mp4", ".mov")} <= _ffmpeg_build_setting("ENCODERS")
    assert {"mov", "mp4"} <= _ffmpeg_build_setting("MUXERS")
    assert {"h264", "hevc", "libdav1d", "mpeg4", "vp9", "mjpeg"} <= _ffmpeg_build_setting("DECODERS")
    script = (INSTALLERS / "ffmpeg" / "build.sh").read_text()
    configure = script[script.index("configure=(") : script.index("sha256()")]
    for needed in ("--disable-everything", "--disable-autodetect", "--disable-network", "--enable-protocol=file"):
        assert needed in configure
    options = re.findall(r"--enable-[\w-]+", configure.replace("never --enable-gpl, --enable-nonfree or --enable-version3", ""))
    for never in ("--enable-gpl", "--enable-nonfree", "--enable-version3"):
        assert never not in options
    assert [option for option in options if option.startswith("--enable-lib")] == ["--enable-libdav1d"]  # BSD-2-Clause
    assert "grep -q '^License: LGPL'" in script  # configure's own verdict, checked after it runs


def test_the_installers_take_heif_without_an_encoder_and_pyav_from_source() -> None:
    import lgpl_av

    pins = {line.split("==")[0].lower() for line in (INSTALLERS / "requirements.txt").read_text().splitlines() if "==" in line}
    assert "pi-heif" in pins and "pillow-heif" not in pins
    constrained = (INSTALLERS / "constraints.txt").read_text()
    assert f"\nav=={lgpl_av.pinned_av_version()}\n" in constrained and "pillow_heif" not in constrained
    assert "lgpl_av_wheel(" in (INSTALLERS / "freeze.py").read_text()


def test_the_bundle_check_finds_gpl_libraries_and_an_ffmpeg_built_with_gpl_parts(tmp_path: Path) -> None:
    dist = _stand_in_bundle(tmp_path)
    libs = dist / "_internal" / "av.libs"
    libs.mkdir(parents=True)
    lgpl = b"\0--prefix=/x --enable-shared --disable-everything\0LGPL version 2.1 or later\0"
    (libs / "libavcodec-1a2b3c4d.so.62.28.102").write_bytes(lgpl)
    assert check_bundle.check(dist)[0] == []
    (libs / "libavformat-5e6f.so.62").write_bytes(b"--enable-gpl")  # only avcodec's line is read
    (dist / "_internal" / "pillow_heif.libs").mkdir()
    (dist / "_internal" / "pillow_heif.libs" / "libx265-4883ecb5.so.217").write_bytes(b"x265")
    (dist / "_internal" / "avcodec-62.dll").write_bytes(b"\0--enable-shared --enable-libx264 --enable-gpl\0")
    problems, _ = check_bundle.check(dist)
    assert problems == [
        "copyleft the app cannot carry: _internal/avcodec-62.dll (FFmpeg built --enable-gpl)",
        "copyleft the app cannot carry: _internal/avcodec-62.dll (FFmpeg built --enable-libx264)",
        "copyleft the app cannot carry: _internal/pillow_heif.libs/libx265-4883ecb5.so.217 (GPL)",
    ]
    command = [sys.executable, str(INSTALLERS / "check_bundle.py"), "--copyleft-only", str(dist)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.count("copyleft") == 3
