"""Other local users can neither read a library (thumbnails of private photos, their paths, the
logs) nor take its locks, whatever the umask. Real processes, real modes, and as root a real
other user (nobody, through setpriv) trying to read and lock."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXPORT_CACHE, write_shapes

from photosearch.core.models.export_cache import DIGESTS, MANIFEST
from photosearch.samples import synthetic

pytestmark = [
    pytest.mark.usefixtures("tiny_model"),
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes and users"),
]
NOBODY = 65534


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A folder other users may traverse (pytest's own temporary folders are 0700 to them)."""
    folder = Path(tempfile.mkdtemp(prefix="photosearch-privacy-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _as_nobody(*command: str) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to act as another user")
    return subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command], capture_output=True, text=True
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_library_its_export_cache_and_its_logs_are_private_whatever_the_umask(scratch: Path) -> None:
    photos, home, cache, state = scratch / "photos", scratch / "library", scratch / "cache", scratch / "state"
    write_shapes(photos, synthetic.shape_labels()[:3], 50)
    home.mkdir(mode=0o755)  # as an older release, under a wide umask, left it
    (made,) = [p for p in EXPORT_CACHE.glob("tiny-shapes-" + "?" * 12) if (p / MANIFEST).is_file()]
    shutil.copytree(made, cache / made.name)  # the export is ready: no minute spent making it
    shutil.copy(EXPORT_CACHE / DIGESTS, cache / DIGESTS)
    cache.chmod(0o755)
    env = dict(os.environ, PHOTOSEARCH_EXPORT_CACHE=str(cache), PHOTOSEARCH_LOG_DIR=str(state / "logs"))
    done = subprocess.run(
        [sys.executable, "-m", "photosearch", "--library", str(home), "index", str(photos), "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(0o022),  # the usual umask: files 644, folders 755
    )
    assert done.returncode == 0, done.stderr
    for folder in (home, cache, state / "logs"):
        assert _mode(folder) == 0o700, f"{folder}: {_mode(folder):o}"
    made_here = [p for p in [*home.rglob("*"), *state.rglob("*")] if p.is_file()]
    assert any(p.parent.name != home.name for p in made_here), "thumbnails and snapshots were written"
    for path in made_here:
        assert _mode(path) & 0o077 == 0, f"{path}: {_mode(path):o}"
    thumbnail = next(p for p in (home / "thumbnails").rglob("*") if p.is_file())
    read = _as_nobody("cat", str(thumbnail))
    assert read.returncode != 0 and "Permission denied" in read.stderr
    listed = _as_nobody("ls", str(home))
    assert listed.returncode != 0 and "Permission denied" in listed.stderr
    for lock in (home / "writer.lock", *cache.glob("*.lock")):
        taken = _as_nobody("flock", "--nonblock", "--shared", str(lock), "true")
        assert taken.returncode != 0 and "Permission denied" in taken.stderr, (lock, taken.stderr)
