"""The CPU inference backends: ONNX Runtime (the default) against torch, and the export cache.

Every backend must give torch's vectors (cosine ≥ 0.9999 per vector) on the bundled tiny model
and on a real architecture with random weights. Exports are a cache: a truncated, damaged,
foreign or stale one is made again, and a machine without the runtime (or an export that
fails) runs torch with one note. All real: real exports, real ONNX Runtime sessions, real
torch, real processes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from photosearch.core.models import export_cache
from photosearch.core.models.embedder import Embedder
from photosearch.core.models.onnx_towers import IMAGE, VERIFY_COSINE
from photosearch.core.models.registry import ModelSpec, get_model

pytestmark = pytest.mark.usefixtures("tiny_model")  # these tests run the model

TEXTS = ["a red circle", "a blue square above a yellow triangle on a white background", "x", "", "red " * 90]
ROOT = Path(__file__).resolve().parents[1]


def _pictures(size: int, count: int = 5) -> np.ndarray:
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:size, 0:size]
    smooth = np.stack([np.stack([xx * (i + 1), yy * (i + 2), (xx + yy) * 3 + 40 * i], -1) % 256 for i in range(count)])
    return np.concatenate([noise, smooth.astype(np.uint8)])


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _assert_parity(fast: Embedder, exact: Embedder) -> None:
    assert (fast.dim, fast.image_size) == (exact.dim, exact.image_size)
    pictures = _pictures(exact.image_size)
    for batch in (pictures, pictures[:1], pictures[3:6]):  # the graphs keep the batch free
        assert _cosines(fast.encode_images(batch), exact.encode_images(batch)).min() >= VERIFY_COSINE
    for texts in (TEXTS, TEXTS[:1], TEXTS[2:4]):  # …and the text length
        assert _cosines(fast.encode_texts(texts), exact.encode_texts(texts)).min() >= VERIFY_COSINE


@pytest.fixture(scope="module")
def tiny_torch() -> Embedder:
    return Embedder(get_model("tiny-shapes"), device="cpu", threads=1, backend="torch")


def test_onnx_is_the_cpu_default_and_gives_torchs_vectors_on_the_tiny_model(tiny_torch: Embedder) -> None:
    fast = Embedder(get_model("tiny-shapes"), device="cpu", threads=2)
    assert (fast.backend, fast.note, tiny_torch.backend) == ("onnx", None, "torch")
    assert fast.threads == 2
    _assert_parity(fast, tiny_torch)
    vectors = fast.encode_texts(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_onnx_gives_torchs_vectors_on_a_real_architecture_with_random_weights(tmp_path: Path) -> None:
    """ViT-B-32: the real default's shape (CLIP's causal text tower, a ViT image tower)."""
    spec = ModelSpec(name="ViT-B-32", arch="ViT-B-32", dim=512, image_size=224, licence="", summary="")
    fast = Embedder(spec, device="cpu", threads=2, random_weights=True, backend="onnx")
    exact = Embedder(spec, device="cpu", threads=2, random_weights=True, backend="torch")
    assert fast.backend == "onnx" and fast.note is None
    _assert_parity(fast, exact)


def test_recent_queries_are_remembered_and_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from photosearch.core.models import embedder as module

    monkeypatch.setattr(module, "RECENT_QUERIES", 3)
    fast = Embedder(get_model("tiny-shapes"), device="cpu", threads=1)
    first = fast.encode_texts(["a red circle", "a red circle", "a blue square"])
    np.testing.assert_array_equal(first[0], first[1])
    again = fast.encode_texts(["a blue square", "a red circle"])
    np.testing.assert_array_equal(again, first[[2, 0]])
    again[0] += 1  # callers own what they get: the remembered vector is not theirs to change
    np.testing.assert_array_equal(fast.encode_texts(["a blue square"])[0], first[2])
    fast.encode_texts(["a", "b", "c", "d"])
    assert len(fast._recent) == 3


# -- the export cache -----------------------------------------------------------------------


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "exports"
    monkeypatch.setenv("PHOTOSEARCH_EXPORT_CACHE", str(cache))
    return cache


def _tiny() -> Embedder:
    return Embedder(get_model("tiny-shapes"), device="cpu", threads=1)


def _export_folder(cache: Path) -> Path:
    (folder,) = [p for p in cache.iterdir() if p.is_dir()]
    return folder


def _made_again(cache: Path, damage: object, caplog: pytest.LogCaptureFixture, tiny_torch: Embedder) -> None:
    """`damage` spoils the export; the next start notices, makes it again and gives torch's vectors."""
    _tiny()
    folder = _export_folder(cache)
    stamp = (folder / export_cache.MANIFEST).stat().st_mtime_ns
    damage(folder)  # type: ignore[operator]
    caplog.clear()
    fresh = _tiny()
    assert fresh.backend == "onnx" and fresh.note is None
    assert any("preparing model 'tiny-shapes'" in r.getMessage() for r in caplog.records), "it was exported again"
    assert (folder / export_cache.MANIFEST).stat().st_mtime_ns != stamp
    _assert_parity(fresh, tiny_torch)


class _ExportWanted(Exception):
    """Raised by a stand-in for the exporter: the cache decided to make the export again."""


def _export_wanted(*_args: object) -> Any:
    raise _ExportWanted


def _truncate(folder: Path) -> None:
    data = (folder / IMAGE).read_bytes()
    (folder / IMAGE).write_bytes(data[: len(data) // 2])


def _scramble_weights(folder: Path) -> None:
    """Same size, other bytes: only running the graph on its probes can tell. (Every image weight
    takes part in every picture; a text token's row only in queries that use it.)"""
    data = bytearray((folder / IMAGE).read_bytes())
    middle = len(data) // 2
    data[middle : middle + 200_000] = np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    (folder / IMAGE).write_bytes(bytes(data))


def _a_token_row(folder: Path) -> None:
    """Garbage over the text graph's row for "blue", a word no probe uses: the probes still pass
    (a damaged export that only its digest can tell from a sound one), while every query that
    says "blue" would get a wrong vector for good."""
    import onnx

    from photosearch.core.models.clip_tokenizer import tokenizer_for

    graph = onnx.load(folder / "text.onnx")
    table = next(i for i in graph.graph.initializer if i.name.endswith("token_embedding.weight"))
    width = table.dims[1] * 4
    tokenize = tokenizer_for(get_model("tiny-shapes"))
    assert tokenize is not None
    blue = int(tokenize(["blue"])[0][1])
    manifest = json.loads((folder / export_cache.MANIFEST).read_text())
    assert all(blue not in row for row in manifest["probe_tokens"])
    data = bytearray((folder / "text.onnx").read_bytes())
    start = data.find(table.raw_data[:4096]) + blue * width
    data[start : start + width] = np.random.default_rng(2).standard_normal(width // 4).astype(np.float32).tobytes()
    (folder / "text.onnx").write_bytes(bytes(data))


def _stale_key(field: str, value: str) -> Callable[[Path], None]:
    def rewrite(folder: Path) -> None:
        manifest = json.loads((folder / export_cache.MANIFEST).read_text())
        manifest["key"][field] = value
        (folder / export_cache.MANIFEST).write_text(json.dumps(manifest))

    return rewrite


@pytest.mark.parametrize(
    "damage",
    [_truncate, _scramble_weights, _a_token_row, _stale_key("runtime", "1.0.0"), _stale_key("weights", "0" * 64)],
    ids=["truncated", "damaged-in-place", "one-token-row", "other-runtime", "other-weights"],
)
def test_a_stale_or_damaged_export_is_never_used(
    damage: Callable[[Path], None], own_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The cache's verdict alone, on a copy of the real tiny export: it asks for a new export
    (the exporter is a stand-in here). The slow tests below let the real exporter make it again
    after a truncation, a change in place and new weights; a stale runtime version takes the
    same path as a truncation once the verdict is made, so its verdict is all that is tested."""
    from photosearch.core.models.onnx_towers import OnnxTowers
    from tests.conftest import EXPORT_CACHE

    spec = get_model("tiny-shapes")
    (made,) = [p for p in EXPORT_CACHE.glob("tiny-shapes-" + "?" * 12) if (p / export_cache.MANIFEST).is_file()]
    shutil.copytree(made, own_cache / made.name)
    good = OnnxTowers(spec, Path(spec.weights or ""), 1, _export_wanted, _export_wanted)
    assert good.folder == own_cache / made.name, "the copy is the export the cache looks for"
    damage(own_cache / made.name)
    with pytest.raises(_ExportWanted):
        OnnxTowers(spec, Path(spec.weights or ""), 1, _export_wanted, _export_wanted)
    if damage is _scramble_weights:
        assert any("is damaged" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_a_truncated_export_is_made_again(own_cache: Path, caplog: pytest.LogCaptureFixture, tiny_torch: Embedder) -> None:
    _made_again(own_cache, _truncate, caplog, tiny_torch)


@pytest.mark.slow
def test_an_export_damaged_in_place_is_caught_by_its_probe_and_made_again(
    own_cache: Path, caplog: pytest.LogCaptureFixture, tiny_torch: Embedder
) -> None:
    _made_again(own_cache, _scramble_weights, caplog, tiny_torch)
    assert any("is damaged" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_an_export_for_other_weights_is_not_used_and_is_pruned(own_cache: Path, tmp_path: Path, tiny_torch: Embedder) -> None:
    """Weights changed in place (same path, other bytes: a re-import): a new export, the old one removed."""
    spec = get_model("tiny-shapes")
    weights = tmp_path / "tiny-copy.safetensors"
    weights.write_bytes(Path(spec.weights or "").read_bytes())
    copy = dataclasses.replace(spec, name="tiny-copy", weights=str(weights))
    Embedder(copy, device="cpu", threads=1)
    (before,) = [p for p in own_cache.iterdir() if p.is_dir()]

    from safetensors.numpy import load_file, save_file

    tensors = load_file(weights)
    rng = np.random.default_rng(3)
    projection = tensors["text_projection"]  # the text tower's last layer: other vectors, still a sound model
    tensors["text_projection"] = (projection + rng.normal(0, 0.05, projection.shape)).astype(projection.dtype)
    save_file(tensors, weights)
    other = Embedder(copy, device="cpu", threads=1)
    (after,) = [p for p in own_cache.iterdir() if p.is_dir()]
    assert after != before and not before.exists()
    torch_other = Embedder(copy, device="cpu", threads=1, backend="torch")
    _assert_parity(other, torch_other)
    assert _cosines(other.encode_texts(TEXTS), tiny_torch.encode_texts(TEXTS)).min() < VERIFY_COSINE, "really other weights"


def test_an_export_that_cannot_be_written_falls_back_to_torch_with_one_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tiny_torch: Embedder
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the export cache should be")
    monkeypatch.setenv("PHOTOSEARCH_EXPORT_CACHE", str(blocked))
    caplog.clear()
    embedder = _tiny()
    assert embedder.backend == "torch"
    assert embedder.note and "running the model with torch on the CPU" in embedder.note and "\n" not in embedder.note
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [embedder.note]
    np.testing.assert_allclose(embedder.encode_texts(TEXTS), tiny_torch.encode_texts(TEXTS), atol=1e-6)


@pytest.mark.slow
def test_an_export_on_a_full_disk_leaves_nothing_behind_and_waits_for_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The export does not fit: torch serves, no partial file keeps the disk full, the next
    starts do not spend the export's time failing again, and once the disk has room it is made."""
    from tests.conftest import small_disk

    with small_disk(tmp_path / "cache", "6m") as cache:
        monkeypatch.setenv("PHOTOSEARCH_EXPORT_CACHE", str(cache))
        first = _tiny()
        assert first.backend == "torch" and first.note and "cannot write the export" in first.note, first.note
        assert not [p for p in cache.iterdir() if p.is_dir()], "no partial export is left"
        assert shutil.disk_usage(cache).used < 1 << 20
        caplog.clear()
        again = _tiny()
        assert again.backend == "torch" and again.note and "its export failed at" in again.note, again.note
        assert not any("preparing model" in r.getMessage() for r in caplog.records), "not tried again at once"
        subprocess.run(["mount", "-o", "remount,size=256m", str(cache)], check=True)  # the user made room
        made = _tiny()
        assert made.backend == "onnx" and made.note is None
        assert not list(cache.glob("*.failed"))


def test_a_read_only_export_cache_still_serves_its_finished_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import EXPORT_CACHE, small_disk

    with small_disk(tmp_path / "cache", "64m") as cache:
        (made,) = [p for p in EXPORT_CACHE.glob("tiny-shapes-" + "?" * 12) if (p / export_cache.MANIFEST).is_file()]
        shutil.copytree(made, cache / made.name)
        shutil.copy(EXPORT_CACHE / export_cache.DIGESTS, cache / export_cache.DIGESTS)
        subprocess.run(["mount", "-o", "remount,ro", str(cache)], check=True)
        monkeypatch.setenv("PHOTOSEARCH_EXPORT_CACHE", str(cache))
        embedder = _tiny()
        assert embedder.backend == "onnx" and embedder.note is None, embedder.note


def _without(module: str, tmp_path: Path, backend: str = "auto") -> tuple[str, str, str]:
    """(backend, note, stderr) of a real process in which `import <module>` fails, as on a
    machine that lacks it, after it searched the tiny model's library."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / f"{module}.py").write_text(f"raise ImportError('No module named {module}')\n")
    script = textwrap.dedent(
        f"""
        import logging, json
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
        from photosearch.core.library import Library
        with Library(model="tiny-shapes", backend="{backend}") as library:
            library.search("a red circle")
            print(json.dumps(library.inference_backend))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    backend, note = json.loads(done.stdout)
    return backend, note, done.stderr


@pytest.mark.slow
def test_a_machine_without_onnx_runtime_runs_torch_with_one_note(tmp_path: Path) -> None:
    backend, note, stderr = _without("onnxruntime", tmp_path)
    assert backend == "torch"
    assert "ONNX Runtime is not installed" in note
    assert stderr.count("ONNX Runtime") == 1, stderr


@pytest.mark.slow
def test_int8_without_its_tools_runs_the_exact_graph_with_one_note(own_cache: Path, tmp_path: Path) -> None:
    """Quantising needs the onnx package; without it int8 is refused in a note, never a failure."""
    _tiny()  # the fp32 export, made while onnx is there
    backend, note, stderr = _without("onnx", tmp_path, backend="onnx-int8")
    assert backend == "onnx"
    assert "int8 is not available for model 'tiny-shapes'" in note and "onnx package" in note
    assert stderr.count("int8 is not available") == 1, stderr


def test_an_unknown_backend_is_refused_in_one_line() -> None:
    from photosearch.core.models.registry import ModelUnavailable

    with pytest.raises(ModelUnavailable, match="unknown inference backend 'tensorflow'"):
        Embedder(get_model("tiny-shapes"), device="cpu", backend="tensorflow")


def test_the_image_pool_runs_at_background_priority_and_queries_on_the_calling_thread() -> None:
    """ONNX Runtime's pool threads inherit the priority of the thread that made the session.
    Counted in a process of its own: threads left by other tests (a calibration, a pipeline's
    decoders) would be counted too."""
    if not sys.platform.startswith("linux"):
        pytest.skip("thread priorities are read from /proc")
    script = textwrap.dedent(
        """
        import json, os
        from pathlib import Path
        from photosearch.core.models.embedder import Embedder
        from photosearch.core.models.registry import get_model

        def niced():
            count = 0
            for task in Path("/proc/self/task").iterdir():
                try:
                    count += int((task / "stat").read_text().rsplit(")", 1)[1].split()[16]) >= 10
                except (OSError, IndexError, ValueError):
                    pass
            return count

        before = niced()
        fast = Embedder(get_model("tiny-shapes"), device="cpu", threads=3)
        after = niced()
        shape = list(fast.encode_texts(["a red circle"]).shape)
        print(json.dumps([after - before, shape == [1, fast.dim], os.getpriority(os.PRIO_PROCESS, 0)]))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    pool, answered, own_nice = json.loads(done.stdout)
    assert pool == 2, "the caller plus two pool threads run a batch: both pool threads at background priority"
    assert answered and own_nice < 10, "a query runs on the calling thread, at its own priority"


def test_a_search_through_a_cached_export_never_imports_torch(tmp_path: Path) -> None:
    """torch costs a process ~700 MB and seconds: the ONNX path needs it only to make an export."""
    script = textwrap.dedent(
        """
        import sys, json
        from photosearch.core.library import Library
        with Library(model="tiny-shapes", device="cpu") as library:
            library.search("a red circle")
            print(json.dumps([library.inference_backend[0], "torch" in sys.modules, "open_clip" in sys.modules]))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["onnx", False, False]


@pytest.mark.parametrize("model", ["ViT-B-32-256", "tiny-shapes"])
def test_the_torch_free_tokenizer_gives_open_clips_ids(model: str) -> None:
    import random

    import open_clip

    from photosearch.core.models.clip_tokenizer import tokenizer_for

    spec = get_model(model)
    ours = tokenizer_for(spec)
    assert ours is not None
    if spec.config:
        open_clip.add_model_config(spec.config)
    theirs = open_clip.get_tokenizer(spec.arch)
    rng = random.Random(0)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 .,!?'\"-éü中😀&;<>"
    texts = [*TEXTS, "Dog on a BEACH!!", "café crème brûlée", "日本の桜 🌸", "it's a <start_of_text> &amp; test"]
    texts += [" a\tb\nc ", "3.14"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(200)]
    np.testing.assert_array_equal(ours(texts), theirs(texts).numpy())


def test_each_start_checks_the_torch_free_tokenizer_against_open_clips_recorded_ids() -> None:
    from photosearch.core.models.clip_tokenizer import ClipTokenizer
    from photosearch.core.models.onnx_towers import OnnxTowers

    fast = _tiny()
    assert isinstance(fast.towers, OnnxTowers) and isinstance(fast.tokenizer, ClipTokenizer)
    assert fast.towers.tokens_match(fast._tokens)
    assert not fast.towers.tokens_match(lambda texts: fast._tokens([t.upper() + " extra" for t in texts]))
