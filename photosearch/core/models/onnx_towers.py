"""CLIP's two towers run by ONNX Runtime: the CPU default.

The graphs are exported from the user's own weights on first use (`onnx_export`), checked
against torch, and kept in the user cache (`export_cache`); every later start loads them and
checks them again on the stored probes, which catches a damaged file in a fraction of a
second. Anything that goes wrong raises `OnnxUnavailable` with a one-line reason, and the
embedder runs torch instead.

Threads: the image graph runs on `threads` threads whose pool is created from a
background-priority thread (pool threads inherit it on Linux), so a query, which runs the text
graph alone on the calling thread, keeps its priority over indexing. Idle pool threads sleep
instead of spinning: the decode threads need those cycles.
"""

from __future__ import annotations

import gc
import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from photosearch.errors import one_line
from photosearch.privacy import private_folder

from ..cpu import make_current_thread_background
from ..writer_lock import waiting_lock
from .export_cache import (
    RANDOM_WEIGHTS,
    ExportKey,
    Manifest,
    export_cache_dir,
    forget_failure,
    prune_other_exports,
    publish,
    read_manifest,
    recent_failure,
    remember_failure,
    start_export,
    weights_digest,
    write_manifest,
)
from .onnx_export import (
    PROBE_TEXTS,
    export_image_tower,
    export_text_tower,
    probe_pixels,
    quiet_tools,
    text_prefix_allowed,
    torch_references,
)
from .registry import ModelSpec
from .torch_towers import prefix_length

log = logging.getLogger(__name__)

VERIFY_COSINE = 0.9999  # least cosine between an exported graph's vector and torch's, per vector
# int8 activations are scaled per batch, so a vector moves a little with its batch mates: the
# int8 graph is checked against its own earlier output with this much room
VERIFY_INT8_COSINE = 0.999
IMAGE, TEXT, IMAGE_INT8 = "image.onnx", "text.onnx", "image-int8.onnx"


class OnnxUnavailable(Exception):
    """ONNX Runtime cannot serve this model here; the message is the one-line reason."""


class OnnxTowers:
    """Image and text inference through ONNX Runtime's CPU provider."""

    def __init__(
        self,
        spec: ModelSpec,
        weights: Path | None,
        threads: int,
        tokenize: Callable[[list[str]], np.ndarray],
        load_model: Callable[[], tuple[Any, int, int]],
        int8: bool = False,
        on_note: Callable[[str], None] | None = None,
        int8_chosen: Callable[[str], bool] | None = None,
    ) -> None:
        """`load_model` gives the torch model (only called when an export must be made);
        `tokenize` gives padded token ids, for the probe queries. `int8_chosen(digest)`: whether
        int8 was chosen for this export before (then only the int8 image graph is loaded)."""
        self.ort = _import_runtime()
        self.threads = max(1, threads)
        self.note: str | None = None  # why int8 was asked for but the exact graph runs
        self._on_note = on_note or (lambda note: log.info("%s", note))
        root = export_cache_dir()
        digest = RANDOM_WEIGHTS if weights is None else weights_digest(weights, root)
        self.key = ExportKey(spec.name, spec.arch, digest, str(self.ort.__version__))
        self.int8 = int8 or (int8_chosen is not None and int8_chosen(self.digest))
        self.name = "onnx-int8" if self.int8 else "onnx"
        self.folder = self.key.folder(root)
        self._weights_size = weights.stat().st_size if weights is not None else 0
        try:
            private_folder(root)  # its locks, too, are out of other users' reach
            with waiting_lock(root / f"{self.folder.name}.lock"):
                manifest = self._open_or_export(spec, tokenize, load_model)
        except OSError as exc:  # a cache that cannot be written (read-only) still serves a finished export
            found = self._open_as_it_is()
            if found is None:
                raise OnnxUnavailable(f"the export cache {root} is not usable: {exc.strerror or exc}") from None
            manifest = found
        self.manifest = manifest
        self.dim, self.image_size = manifest.dim, manifest.image_size
        prune_other_exports(root, self.key)

    def _open_or_export(
        self, spec: ModelSpec, tokenize: Callable[[list[str]], np.ndarray], load_model: Callable[[], tuple[Any, int, int]]
    ) -> Manifest:
        """The cached export, checked; or, when there is none or it is damaged, a new one."""
        manifest = read_manifest(self.folder, self.key)
        if manifest is not None:
            try:
                self._open(manifest)
                return manifest
            except OnnxUnavailable as exc:
                log.warning("the cached export in %s is damaged (%s): making it again", self.folder, exc)
        root = self.folder.parent
        refusal = recent_failure(root, self.key, self._weights_size)
        if refusal is not None:
            raise OnnxUnavailable(refusal)
        try:
            manifest = self._export(spec, tokenize(list(PROBE_TEXTS)), load_model)
            self._open(manifest)
        except OnnxUnavailable as exc:
            shutil.rmtree(self.folder, ignore_errors=True)  # no partial files keep a full disk full
            remember_failure(root, self.key, str(exc))
            raise
        forget_failure(root, self.key)
        return manifest

    def _open_as_it_is(self) -> Manifest | None:
        """A finished, sound export opened without the lock or any write; None if there is none."""
        manifest = read_manifest(self.folder, self.key)
        if manifest is None:
            return None
        try:
            self._open(manifest, may_write=False)
        except OnnxUnavailable:
            return None
        return manifest

    # -- inference ------------------------------------------------------------------------

    @property
    def digest(self) -> str:
        """What this export depends on (weights, runtime, format): a choice made on it holds while it is the same."""
        return f"{self.key.weights}:{self.key.runtime}:{self.key.format}"

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        return self._image.run(None, {"pixels": np.ascontiguousarray(pixels, dtype=np.uint8)})[0]

    def encode_tokens(self, tokens: np.ndarray) -> np.ndarray:
        """(N, context) int64 token ids, as open_clip's tokenizer pads them → (N, dim)."""
        if self.manifest.text_prefix:
            tokens = tokens[:, : prefix_length(tokens)]
        return self._text.run(None, {"tokens": np.ascontiguousarray(tokens, dtype=np.int64)})[0]

    def tokens_match(self, tokenize: Callable[[list[str]], np.ndarray]) -> bool:
        """Whether `tokenize` gives the probe texts the ids open_clip gave when the export was made."""
        recorded = np.array(self.manifest.probe_tokens, dtype=np.int64)
        mine = tokenize(list(PROBE_TEXTS))
        width = recorded.shape[1]
        return bool(mine.shape[0] == recorded.shape[0] and (mine[:, :width] == recorded).all() and not mine[:, width:].any())

    @property
    def int8_quality(self) -> float | None:
        """Least cosine of the int8 image graph to torch fp32 on the probes (None: fp32 in use)."""
        return self.manifest.quality.get(IMAGE_INT8) if self.int8 else None

    # -- loading and checking -------------------------------------------------------------

    def _open(self, manifest: Manifest, may_write: bool = True) -> None:
        """Sessions for both towers, each checked on the probes against the vectors recorded for it."""
        self.manifest = manifest
        self._text = self._session(TEXT, threads=1)
        tokens = np.array(manifest.probe_tokens, dtype=np.int64)
        _check(self.encode_tokens(tokens), manifest.references[TEXT], TEXT)
        _check(self.encode_tokens(tokens[-1:]), manifest.references[TEXT][-1:], TEXT)  # another batch and length
        self._may_write = may_write
        self._int8_image: Any = None
        if self.int8:
            try:
                self._image = self._load_int8()
                return
            except OnnxUnavailable as exc:  # the exact graph still serves: say so, never fail
                self.int8, self.name = False, "onnx"
                self.note = f"int8 is not available for model '{manifest.key.model}' ({exc}): using the exact graph"
        self._image = self._load_image(IMAGE, VERIFY_COSINE)

    def _load_image(self, image_file: str, least: float) -> Any:
        """An image graph's session, checked on the probes (two batch sizes) against its reference."""
        session = _in_background_thread(lambda: self._session(image_file, self.threads))
        pixels = probe_pixels(self.manifest.image_size)
        references = self.manifest.references[image_file]
        for batch, wanted in ((pixels, references), (pixels[1:], references[1:])):
            vectors = session.run(None, {"pixels": np.ascontiguousarray(batch, dtype=np.uint8)})[0]
            _check(vectors, wanted, image_file, least)
        return session

    def _load_int8(self) -> Any:
        """The int8 image graph's session, made from the exact graph first if need be."""
        if IMAGE_INT8 not in self.manifest.files:
            if not self._may_write:
                raise OnnxUnavailable("the export cache cannot be written")
            self._quantize(self.manifest)
        return self._load_image(IMAGE_INT8, VERIFY_INT8_COSINE)

    # -- both graphs, for a library that is deciding (see int8_trial) -----------------------

    def can_try_int8(self) -> bool:
        """Load the int8 graph beside the exact one in use; False (with `note`) if it cannot be."""
        if self._int8_image is None and not self.int8:
            try:
                with waiting_lock(self.folder.parent / f"{self.folder.name}.lock"):  # another process may quantise too
                    self.manifest = read_manifest(self.folder, self.key) or self.manifest
                    self._int8_image = self._load_int8()
            except OSError as exc:
                self.note = f"int8 is not available for model '{self.manifest.key.model}' ({exc}): using the exact graph"
                return False
            except OnnxUnavailable as exc:
                self.note = f"int8 is not available for model '{self.manifest.key.model}' ({exc}): using the exact graph"
                return False
        return True

    def encode_images_int8(self, pixels: np.ndarray) -> np.ndarray:
        """The int8 graph's vectors, while the exact graph is the one in use."""
        return self._int8_image.run(None, {"pixels": np.ascontiguousarray(pixels, dtype=np.uint8)})[0]

    def settle(self, int8: bool) -> None:
        """Use the int8 graph from now on, or the exact one; the other is let go."""
        if int8 and self._int8_image is not None:
            self._image, self.int8, self.name = self._int8_image, True, "onnx-int8"
        elif not int8 and self.int8:  # loaded as chosen before, and now to be exact
            self._image, self.int8, self.name = self._load_image(IMAGE, VERIFY_COSINE), False, "onnx"
        self._int8_image = None
        gc.collect()

    def _session(self, name: str, threads: int) -> Any:
        ort = self.ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # no arena: it would keep the largest batch's activations for good (hundreds of MB for
        # the default model), where freeing them after each batch costs nothing measurable
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 3  # its warnings about unused initialisers are noise
        try:
            return ort.InferenceSession(str(self.folder / name), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a damaged file is any error at all from the runtime's loader
            raise OnnxUnavailable(f"{name} does not load: {_first_line(exc)}") from None

    def _export(self, spec: ModelSpec, tokens: np.ndarray, load_model: Callable[[], tuple[Any, int, int]]) -> Manifest:
        self._on_note(f"preparing model '{spec.name}' for this CPU, once (up to a minute)")
        loaded = load_model()
        try:
            return self._write_export(spec, tokens, *loaded)
        except OSError as exc:
            raise OnnxUnavailable(f"cannot write the export to {self.folder}: {exc.strerror or exc}") from None
        finally:
            del loaded
            gc.collect()  # the torch weights are not needed again: the runtime holds its own copy

    def _write_export(self, spec: ModelSpec, tokens: np.ndarray, model: Any, dim: int, image_size: int) -> Manifest:
        prefix = text_prefix_allowed(model, tokens)
        references = torch_references(model, spec, image_size, tokens)  # torch's full towers
        if prefix:
            tokens = tokens[:, : prefix_length(tokens)]
        start_export(self.folder)
        manifest = Manifest(self.key, dim, image_size, prefix, probe_tokens=tokens.tolist())
        manifest.references = {IMAGE: references["image"].tolist(), TEXT: references["text"].tolist()}
        exports: dict[str, Callable[[Path], None]] = {
            IMAGE: lambda made: export_image_tower(model, spec, image_size, made),
            TEXT: lambda made: export_text_tower(model, prefix, tokens, made),
        }
        for name, export in exports.items():
            made = self.folder / f"{name}.partial"
            try:
                export(made)
            except OSError:  # writing failed (a full disk): said as such by _export
                raise
            except Exception as exc:  # the exporter could not trace this architecture
                raise OnnxUnavailable(f"exporting {name} failed: {_first_line(exc)}") from None
            publish(self.folder, manifest, name, made)
        write_manifest(self.folder, manifest)
        return manifest

    def _quantize(self, manifest: Manifest) -> None:
        """int8 weights for the image graph (dynamic quantisation), made once from the fp32 graph."""
        try:
            import onnx
            from onnxruntime.quantization import QuantType, quantize_dynamic
        except ImportError as exc:
            raise OnnxUnavailable(f"int8 needs the onnx package ({_first_line(exc)})") from None
        self._on_note(f"making the int8 image graph of '{manifest.key.model}' (once)")
        source, made = self.folder / f"{IMAGE}.for-int8", self.folder / f"{IMAGE_INT8}.partial"
        try:
            graph = onnx.load(self.folder / IMAGE)
            del graph.graph.value_info[:]  # the exporter's shape notes can trip the quantiser's own inference
            onnx.save(graph, source)
            del graph
            with quiet_tools():
                quantize_dynamic(source, made, weight_type=QuantType.QInt8, per_channel=True)
            vectors = self._session(made.name, self.threads).run(None, {"pixels": probe_pixels(manifest.image_size)})[0]
        except Exception as exc:  # any failure of the quantiser on this architecture
            made.unlink(missing_ok=True)
            raise OnnxUnavailable(f"quantising failed: {_first_line(exc)}") from None
        finally:
            source.unlink(missing_ok=True)
        publish(self.folder, manifest, IMAGE_INT8, made)
        manifest.references[IMAGE_INT8] = vectors.tolist()
        manifest.quality[IMAGE_INT8] = float(_cosines(vectors, manifest.references[IMAGE]).min())
        write_manifest(self.folder, manifest)


def _import_runtime() -> Any:
    try:
        import onnxruntime
    except Exception as exc:  # ImportError, or a broken native library
        raise OnnxUnavailable(f"ONNX Runtime is not installed ({_first_line(exc)})") from None
    if "CPUExecutionProvider" not in onnxruntime.get_available_providers():
        raise OnnxUnavailable("this ONNX Runtime build has no CPU execution provider")
    return onnxruntime


def _cosines(vectors: np.ndarray, references: list[list[float]]) -> np.ndarray:
    wanted = np.asarray(references, dtype=np.float32)
    got = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(got, axis=1) * np.linalg.norm(wanted, axis=1)
    return (got * wanted).sum(axis=1) / np.maximum(norms, 1e-12)


def _check(vectors: np.ndarray, references: list[list[float]], name: str, least: float = VERIFY_COSINE) -> None:
    if vectors.shape != np.shape(references):
        raise OnnxUnavailable(f"{name} gives vectors of shape {vectors.shape}, expected {np.shape(references)}")
    if not np.isfinite(vectors).all():
        raise OnnxUnavailable(f"{name} gives vectors that are not finite")
    worst = float(_cosines(vectors, references).min())
    if worst < least:
        raise OnnxUnavailable(f"{name} differs from its reference vectors (cosine {worst:.6f} < {least})")


def _in_background_thread(make: Callable[[], Any]) -> Any:
    """Run `make` on a short-lived thread at background priority, so threads it starts inherit that."""
    box: dict[str, Any] = {}

    def run() -> None:
        make_current_thread_background()
        try:
            box["value"] = make()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="onnx-session", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _first_line(exc: BaseException) -> str:
    """Which library failed how: the type names it (runtime and exporter messages often do not)."""
    return f"{type(exc).__name__}: {one_line(exc)[:200]}"
