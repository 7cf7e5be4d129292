"""The command line, run as a user runs it: a real process, real files, the real tiny model."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photosearch.core.library import Library
from photosearch.core.models.registry import TINY_MODEL_DIR
from photosearch.samples import synthetic
from tests.conftest import write_shapes

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "photosearch", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[Path]]:
    root = tmp_path_factory.mktemp("cli")
    photos = root / "photos"
    paths = write_shapes(photos, synthetic.shape_labels(), 11)
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    library = root / "library"
    result = run("index", str(photos), "--library", str(library), "--model", "tiny-shapes")
    assert result.returncode == 0, result.stderr
    assert "indexed 18, skipped 1" in result.stdout
    return library, photos, paths


def test_search_json(indexed: tuple[Path, Path, list[Path]]) -> None:
    library, _, _ = indexed
    result = run("search", "a", "yellow", "triangle", "--json", "-k", "3", "--library", str(library))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 3 and set(rows[0]) == {"path", "score", "id", "taken", "width", "height", "size", "kind"}
    assert rows[0]["kind"] == "photo"
    assert "yellow-triangle" in rows[0]["path"]


def test_similar_json_excludes_the_query_photo(indexed: tuple[Path, Path, list[Path]]) -> None:
    library, _, paths = indexed
    result = run("similar", str(paths[0]), "--json", "--library", str(library))
    rows = json.loads(result.stdout)
    assert result.returncode == 0 and rows and str(paths[0]) not in [r["path"] for r in rows]


def test_status_json_schema(indexed: tuple[Path, Path, list[Path]]) -> None:
    library, photos, paths = indexed
    env = {"PHOTOSEARCH_HOME": str(library)}
    status = json.loads(run("status", "--json", "--paths", env=env).stdout)
    assert status["model"] == "tiny-shapes"
    assert status["folders"] == [{"path": str(photos), "state": "online", "photos": {"indexed": 18, "skipped": 1, "pending": 0}}]
    assert status["photos"] == {"indexed": 18, "skipped": 1, "pending": 0}
    assert status["index"]["vectors"] == 18 and status["index"]["healthy"] is True
    assert status["skipped"][0]["path"] == str(photos / "broken.png") and status["skipped"][0]["reason"]
    assert sorted(status["paths"]) == sorted(str(p) for p in paths)
    text = run("status", env=env).stdout
    assert "18 indexed, 1 skipped, 0 pending" in text and "broken.png" in text


def test_models_lists_licences_and_default() -> None:
    result = run("models", "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["ViT-B-32-256"]["default"] and rows["ViT-B-32-256"]["licence"] == "MIT"
    assert rows["tiny-shapes"]["downloaded"]
    assert "ViT-L-14" in rows


@pytest.mark.slow
def test_model_import_loads_through_the_same_path(indexed: tuple[Path, Path, list[Path]], tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    bundled = TINY_MODEL_DIR / "tiny-shapes.safetensors"
    torch_file = tmp_path / "my-weights.pt"
    torch.save(load_file(str(bundled)), torch_file)
    library = tmp_path / "lib"
    result = run("models", "import", str(torch_file), "--arch", "tiny-shapes", "--name", "my-tiny", "--library", str(library))
    assert result.returncode == 0, result.stderr
    _, photos, _ = indexed
    assert run("index", str(photos), "--library", str(library), "--model", "my-tiny", "--quiet").returncode == 0
    rows = json.loads(run("search", "a red square", "--json", "-k", "1", "--library", str(library), "--model", "my-tiny").stdout)
    assert "red-square" in rows[0]["path"]
    bad = tmp_path / "evil.pt"
    bad.write_bytes(b"not a checkpoint")
    result = run("models", "import", str(bad), "--arch", "tiny-shapes", "--library", str(library))
    assert result.returncode == 1 and "loaded safely" in result.stderr
    weights = load_file(str(bundled))
    first = next(iter(weights))
    weights[first] = weights[first][:1].clone()  # weights of another shape: they load, but do not fit
    misfit = tmp_path / "misfit.safetensors"
    save_file(weights, str(misfit))
    result = run("models", "import", str(misfit), "--arch", "tiny-shapes", "--library", str(library))
    assert result.returncode == 1 and "misfit.safetensors does not fit architecture" in result.stderr, result.stderr
    assert str(library) not in result.stderr, "no scratch path that is gone by the time it is read"


def test_missing_weights_offline_fail_fast_with_a_useful_message(tmp_path: Path) -> None:
    for lib in ("lib", "lib2"):  # a library of the tiny model, to search with another
        Library(tmp_path / lib, model="tiny-shapes").close()
    started = time.monotonic()
    result = run("search", "dog", "--model", "ViT-B-32", "--library", str(tmp_path / "lib"))
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert "ViT-B-32" in message and "open_clip_model.safetensors" in message and "models import" in message
    assert elapsed < 30  # the 5 s budget is measured in benchmarks; this only guards against retry loops
    code = (
        "import sys; from photosearch.cli.main import main\n"
        f"assert main(['search', 'dog', '--model', 'ViT-B-32', '--library', {str(tmp_path / 'lib2')!r}]) == 1\n"
        "assert 'torch' not in sys.modules, 'the failure path imported torch (seconds)'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell's pipe")
def test_a_reader_that_stops_early_is_no_error(tmp_path: Path) -> None:
    """`photosearch models | head`: the reader is gone before the list is written."""
    script = f'{shlex.quote(sys.executable)} -m photosearch models 2>"$1" | true; exit "${{PIPESTATUS[0]}}"'
    done = subprocess.run(["bash", "-c", script, "bash", str(tmp_path / "stderr")], capture_output=True, text=True, timeout=60)
    assert (tmp_path / "stderr").read_text() == ""
    assert done.returncode in (0, 141)  # 141: as a process ended by SIGPIPE reports


def test_usage_errors_exit_2_and_other_errors_exit_1(tmp_path: Path) -> None:
    assert run("frobnicate").returncode == 2
    assert run("search").returncode == 2
    result = run("similar", str(tmp_path / "nope.jpg"), "--library", str(tmp_path / "lib"))
    assert result.returncode == 1 and result.stderr.startswith("photosearch: error:")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run("index", "--library", str(blocker / "lib"))  # a library folder that can't exist
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "cannot create library folder" in result.stderr
    result = run("status", "--library", str(blocker / "lib"))  # a command that only reads makes nothing
    assert result.returncode == 1 and "no library at" in result.stderr


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys; from photosearch.cli.main import main\n"
        "try: main(['--help'])\nexcept SystemExit: pass\n"
        "assert 'torch' not in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_demo_runs_offline(tmp_path: Path) -> None:
    result = run("demo", "--folder", str(tmp_path / "demo"), "--count", "40", timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'search "a red circle":' in result.stdout and "indexed 49 photos, RAW files and videos" in result.stdout
    assert list((tmp_path / "demo").rglob("*.heic")) and (tmp_path / "demo" / ".photosearch" / "catalog.sqlite3").exists()


@pytest.mark.slow
def test_selftest_passes_and_keeps_stderr_for_failures(tmp_path: Path) -> None:
    """Installers check an installed app by its self-test: exit 0 and nothing on stderr, even on
    a first run that exports the model (that note is part of the report, on stdout)."""
    result = run("selftest", env={"PHOTOSEARCH_EXPORT_CACHE": str(tmp_path / "exports")}, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert "FAIL" not in result.stdout and result.stdout.strip().splitlines()[-1].startswith("passed in")
    assert "preparing model 'tiny-shapes' for this CPU" in result.stdout and "ok    inference runtime (onnx)" in result.stdout
