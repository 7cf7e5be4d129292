"""`photosearch gui --query … --screenshot … --quit-after-results`, as installers and docs run it:
a real process, offscreen and as a real X11 window under Xvfb."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from photosearch.core.library import Library
from photosearch.samples import synthetic

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model

RED = synthetic.ShapeLabel("red", "circle")
OTHERS = [synthetic.ShapeLabel(c, s) for c in ("blue", "green") for s in ("square", "triangle")]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("script")
    for i in range(3):
        synthetic.write_photo(root / "photos" / f"red-{i}.jpg", RED, (480, 360), random.Random(i), 6 if i == 0 else 1)
    for i, label in enumerate(OTHERS):
        synthetic.write_photo(root / "photos" / f"other-{i}.jpg", label, (480, 360), random.Random(10 + i))
    with Library(root / "library", model="tiny-shapes", threads=2) as lib:
        lib.add_folder(root / "photos")
        lib.index()
    return root


def _run(library: Path, shot: Path, env: dict[str, str], wrapper: list[str]) -> subprocess.CompletedProcess[str]:
    command = [*wrapper, sys.executable, "-m", "photosearch", "gui", "--library", str(library / "library")]
    command += ["--query", "a red circle", "--screenshot", str(shot), "--quit-after-results"]
    return subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)


def _check(result: subprocess.CompletedProcess[str], shot: Path) -> dict[str, object]:
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {Path(p).name for p in report["results"][:3]} == {"red-0.jpg", "red-1.jpg", "red-2.jpg"}
    assert report["thumbnails_painted"] == report["cells_visible"] > 0, report  # every cell in view, painted
    assert report["window_shown_ms"] > 0 and report["first_results_ms"] > 0
    assert shot.stat().st_size > 10_000
    unexpected = [line for line in result.stderr.splitlines() if line.strip() and "propagateSizeHints" not in line]
    assert not unexpected, unexpected
    return report


def test_scripted_window_offscreen(library: Path, tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    _check(_run(library, tmp_path / "shot.png", env, []), tmp_path / "shot.png")


def test_thumbnails_are_sharp_on_a_hidpi_screen(library: Path, tmp_path: Path) -> None:
    """Cells are sized in points; at a device pixel ratio of 2 their thumbnails are read at twice
    the pixels (the default cell is 160 points: 320 pixels, the thumbnail store's full size)."""
    base = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    plain = _check(_run(library, tmp_path / "1x.png", base, []), tmp_path / "1x.png")
    sharp = _check(_run(library, tmp_path / "2x.png", {**base, "QT_SCALE_FACTOR": "2"}, []), tmp_path / "2x.png")
    assert plain["device_pixel_ratio"] == 1.0 and sharp["device_pixel_ratio"] == 2.0
    assert plain["thumbnail_px"] <= 160 < 300 <= sharp["thumbnail_px"]  # type: ignore[operator]


def test_scripted_window_under_xvfb(library: Path, tmp_path: Path) -> None:
    if not shutil.which("xvfb-run"):
        pytest.skip("xvfb-run is not installed (tools/install_system_deps.sh installs it)")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    _check(_run(library, tmp_path / "x11.png", env, ["xvfb-run", "-a", "-s", "-screen 0 1280x900x24"]), tmp_path / "x11.png")


def test_without_a_display_it_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(
        [sys.executable, "-m", "photosearch", "gui", "--query", "red"], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 1 and result.stderr.strip().count("\n") == 0 and "no display" in result.stderr


@pytest.mark.slow
def test_the_demo_window_makes_its_library_then_searches_it(tmp_path: Path) -> None:
    """`make run`: `photosearch gui --demo` on a machine without the demo library yet, whose
    pictures folder has a translated name (the window and `photosearch demo` must agree on it)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "user-dirs.dirs").write_text('XDG_PICTURES_DIR="$HOME/Bilder"\n')
    shot = tmp_path / "demo.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "photosearch",
            "gui",
            "--demo",
            "--query",
            "a red circle",
            "--screenshot",
            str(shot),
            "--quit-after-results",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (tmp_path / "Bilder" / "photosearch-demo" / ".photosearch" / "catalog.sqlite3").is_file()
    assert not (tmp_path / "Pictures").exists()
    # the demo's red-circle photos, and its video whose last scene is a red circle
    assert all("red-circle" in Path(p).name or Path(p).name == "beach.mp4" for p in report["results"][:3]), report["results"][:5]
    assert report["thumbnails_painted"] > 0 and shot.stat().st_size > 10_000


def test_open_with_passes_photos_that_become_a_similar_search(library: Path, tmp_path: Path) -> None:
    """What a desktop entry's `Exec=photosearch gui %F` runs when the user opens a photo with the app."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    photo = library / "photos" / "red-2.jpg"
    command = [sys.executable, "-m", "photosearch", "gui", "--library", str(library / "library"), "--quit-after-results"]
    result = subprocess.run([*command, str(photo)], capture_output=True, text=True, timeout=240, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["results"][0] == str(photo)
    assert {Path(p).name for p in report["results"][:3]} == {"red-0.jpg", "red-1.jpg", "red-2.jpg"}
