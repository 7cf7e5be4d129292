"""The Linux installer end to end, as a user gets it: `installers/linux/build.sh` freezes the app
in its own build environment and packs the .deb; `installers/linux/test.sh` installs it as root,
runs it with an empty environment (--version, selftest, the demo, the window offscreen and under
Xvfb, "Open with") and purges it, checking nothing of the package is left; and
`installers/linux/test-clean-system.sh` installs it on minimal Debian 12 and 13 systems
(debootstrap), where only what the package declares is there, and runs it again.

Minutes, not seconds: marked slow, and skipped where they cannot run (not Debian-like, not
root; Debian's mirror out of reach for the clean systems). The proof checks only what is its
own, so another photosearch beside it (a user's, another test run) neither fails it nor is
touched: the first test runs one on purpose. It packs with zstd -3 instead of the release's
xz -6: the compression changes nothing that is tested here and costs two minutes.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINUX = ROOT / "installers" / "linux"
sys.path.insert(0, str(ROOT / "installers"))

import bundle_contents  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]
MIRROR_UNREACHABLE = 3  # test-clean-system.sh's exit status when debootstrap cannot download


@pytest.fixture(scope="module")
def deb() -> Path:
    if not sys.platform.startswith("linux") or not shutil.which("dpkg") or not shutil.which("apt-get"):
        pytest.skip("a Debian-like system builds and installs the .deb")
    if os.geteuid() != 0:
        pytest.skip("the .deb's tests install it: run as root")
    env = {**os.environ, "DEB_COMPRESSION": "zstd", "DEB_LEVEL": "3"}
    build = subprocess.run([str(LINUX / "build.sh")], capture_output=True, text=True, env=env)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    return ROOT / "dist" / f"photosearch_{bundle_contents.version()}_{arch}.deb"


def test_the_deb_installs_runs_and_purges_cleanly(deb: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    # Another photosearch on the same machine, writing a library of its own meanwhile (under
    # /tmp, named like the app): the proof must neither fail on it nor touch it.
    beside = Path(tempfile.mkdtemp(prefix="photosearch-beside-"))
    photos = beside / "photos"
    photos.mkdir()
    env = {**os.environ, "PHOTOSEARCH_HOME": str(beside / "library"), "PYTHONPATH": str(ROOT)}
    watcher = subprocess.Popen(
        [sys.executable, "-m", "photosearch", "watch", str(photos)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    writer = threading.Thread(target=_keep_writing, args=(photos, watcher), daemon=True)
    writer.start()
    try:
        proof = subprocess.run(
            [str(LINUX / "test.sh"), str(deb)], capture_output=True, text=True, env={**os.environ, "REPORT": str(report)}
        )
        assert watcher.poll() is None, "the photosearch beside the proof was stopped"
    finally:
        watcher.terminate()
        _, errors = watcher.communicate(timeout=60)
        writer.join(timeout=10)
    assert proof.returncode == 0, proof.stdout[-3000:] + proof.stderr[-3000:]
    assert watcher.returncode == 0, errors[-2000:]
    assert len(list(photos.iterdir())) > 1 and (beside / "library" / "catalog.sqlite3").is_file(), "it wrote beside the proof"
    shutil.rmtree(beside)
    figures = json.loads(report.read_text())
    for run in ("offscreen", "xvfb"):
        # the demo's red-circle photos, and its video whose last scene is a red circle
        assert all("red-circle" in name or name == "beach.mp4" for name in figures[f"{run}_first_results"])
        assert figures[f"{run}_window_shown_ms"] > 0
    assert figures["installed_kib"] > 100_000 and figures["deb_bytes"] > 50_000_000


def _keep_writing(folder: Path, watcher: subprocess.Popen[bytes]) -> None:
    """New photos every few seconds while the watcher lives: files appear on disk during the proof."""
    from photosearch.samples import synthetic

    rng = random.Random(5)
    labels = synthetic.shape_labels()
    for number in itertools.count():
        if watcher.poll() is not None:
            return
        synthetic.write_photo(folder / f"beside-{number:04d}.jpg", labels[number % len(labels)], (320, 240), rng)
        time.sleep(3)


def test_the_deb_declares_everything_it_needs_on_minimal_debian_12_and_13(deb: Path) -> None:
    proof = subprocess.run([str(LINUX / "test-clean-system.sh"), str(deb), "bookworm", "trixie"], capture_output=True, text=True)
    if proof.returncode == MIRROR_UNREACHABLE:
        pytest.skip(f"Debian's mirror is out of reach: {proof.stderr.strip()}")
    assert proof.returncode == 0, proof.stdout[-3000:] + proof.stderr[-3000:]
    assert proof.stdout.count(": passed in ") == 2
