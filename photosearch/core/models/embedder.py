"""The CLIP embedder: uint8 pictures and query strings in, unit-length float32 vectors out.

torch and open_clip are imported here (and in the towers this module picks), lazily, and
nowhere else in the core: importing photosearch must stay fast, and the window's process (the
worker client) must never load them. Any model (bundled, downloaded or imported) is an
open_clip architecture plus a weights file, loaded by the same `load_clip_model`.

Which runtime does the arithmetic is the embedder's choice: ONNX Runtime on a CPU (measured
the fastest there, see docs/benchmarks.md), torch on CUDA and Apple MPS, and torch again on a
CPU when asked (`backend="torch"`) or when the runtime is missing or its export fails, which
the embedder says in one note (`Embedder.note`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from photosearch.records import INFERENCE_BACKENDS

from .download import resolve_weights
from .gpu import gpu_possible
from .int8_trial import Int8Trial
from .registry import ModelSpec, ModelUnavailable

if TYPE_CHECKING:
    from .onnx_towers import OnnxTowers
    from .torch_towers import TorchTowers

log = logging.getLogger(__name__)

RECENT_QUERIES = 256  # text vectors remembered: typing, deleting and retyping a word costs nothing
TIMED_TEXTS_NEEDED = 10  # single-query encodes timed before their p95 is trusted
_registered_configs: set[str] = set()
_register_lock = threading.Lock()


class _QuietOpenClip(logging.Filter):
    """open_clip warns 'No pretrained weights loaded' for every model we load weights into ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "No pretrained weights loaded" not in record.getMessage()


def choose_device(preference: str | None = None) -> str:
    """CUDA, then Apple MPS, then CPU; `preference` ('cpu', 'cuda', 'cuda:1', 'mps') overrides."""
    wanted = (preference or os.environ.get("PHOTOSEARCH_DEVICE") or "auto").lower()
    if wanted in ("auto", "cpu") and (wanted == "cpu" or not gpu_possible()):
        return "cpu"
    import torch

    if wanted != "auto":
        if wanted.startswith("cuda") and not torch.cuda.is_available():
            raise ModelUnavailable(f"device '{wanted}' was requested but no CUDA GPU is available")
        if wanted == "mps" and not torch.backends.mps.is_available():
            raise ModelUnavailable("device 'mps' was requested but Apple MPS is not available")
        return wanted
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _register_config(spec: ModelSpec) -> None:
    if not spec.config:
        return
    import open_clip

    with _register_lock:
        if spec.config not in _registered_configs:
            open_clip.add_model_config(spec.config)
            _registered_configs.add(spec.config)


def load_clip_model(spec: ModelSpec, weights: Path | None, device: str) -> tuple[Any, int, int]:
    """(model in eval mode on `device`, embedding dim, input size); `weights=None` keeps random weights."""
    import open_clip
    import torch

    _register_config(spec)
    quiet = _QuietOpenClip()
    logging.getLogger().addFilter(quiet)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(0)  # random weights (benchmarks) are the same every time, so their exports are reused
            model = open_clip.create_model(spec.arch, pretrained=None, device="cpu")
    except RuntimeError:
        raise ModelUnavailable(f"unknown open_clip architecture '{spec.arch}' (open_clip.list_models() lists them)") from None
    finally:
        logging.getLogger().removeFilter(quiet)
    if weights is not None:
        try:
            open_clip.load_checkpoint(model, str(weights), strict=True, weights_only=True)
        except Exception as exc:
            raise ModelUnavailable(
                f"weights file {weights} does not fit architecture '{spec.arch}' ({type(exc).__name__}: {str(exc)[:200]})"
            ) from None
    model = model.to(device).eval()
    size = model.visual.image_size
    image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
    dim = int(model.text_projection.shape[1]) if getattr(model, "text_projection", None) is not None else spec.dim
    return model, dim, image_size


class Embedder:
    """Batched CLIP inference. Thread-safe for concurrent encode calls (inference only)."""

    def __init__(
        self,
        spec: ModelSpec,
        device: str | None = None,
        threads: int | None = None,
        random_weights: bool = False,
        backend: str | None = None,
        int8_chosen: Callable[[str], bool] | None = None,
    ) -> None:
        """`backend`: auto (ONNX Runtime on a CPU, else torch), onnx, onnx-int8 or torch;
        $PHOTOSEARCH_BACKEND when not given. `int8_chosen(export_digest)`: whether the library
        chose int8 for this export before (the automatic backend then loads only that graph)."""
        # find the weights before importing torch: a missing model fails in seconds, not after imports
        weights = None if random_weights else resolve_weights(spec)
        wanted = (backend or os.environ.get("PHOTOSEARCH_BACKEND") or "auto").lower()
        if wanted not in INFERENCE_BACKENDS:
            raise ModelUnavailable(f"unknown inference backend '{wanted}'; choose one of: {', '.join(INFERENCE_BACKENDS)}")
        self.spec = spec
        self.device = choose_device(device)
        self.note: str | None = None  # why the wanted backend is not the one in use
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()
        self._text_seconds: deque[float] = deque(maxlen=64)  # encoding one new text query, lately
        # torch is imported only when it runs the model or makes an export: the ONNX path with
        # a cached export runs without it (it would cost the worker 700 MB and seconds)
        from .clip_tokenizer import tokenizer_for

        self.tokenizer: Callable[[list[str]], np.ndarray] = tokenizer_for(spec) or self._open_clip_tokenizer()
        self.towers: OnnxTowers | TorchTowers | None = None
        if wanted != "torch" and self.device == "cpu":
            chosen = int8_chosen if wanted == "auto" else None
            self.towers = self._onnx_towers(weights, threads or os.cpu_count() or 1, wanted == "onnx-int8", chosen)
        elif wanted.startswith("onnx"):
            self.note = f"ONNX Runtime runs on the CPU only: using torch on {self.device}"
        if self.towers is None:
            import torch

            from .torch_towers import TorchTowers

            if threads:
                torch.set_num_threads(max(1, threads))
            self.towers = TorchTowers(*load_clip_model(spec, weights, self.device), spec, self.device)
            self.tokenizer = self._open_clip_tokenizer()  # torch is loaded now: the model's own tokenizer
        if self.note:
            log.warning("%s", self.note)
        self.backend = self.towers.name
        self.dim, self.image_size = self.towers.dim, self.towers.image_size
        # the automatic backend on ONNX may try int8 on a library's own photos (int8_trial);
        # an exact backend asked for by name means exact vectors only
        self.may_choose_int8 = wanted == "auto" and self.backend.startswith("onnx")
        self.forced_exact = wanted in ("onnx", "torch")
        self._trial: Int8Trial | None = None
        self._decide: Callable[[Int8Trial], bool] | None = None

    def _onnx_towers(
        self, weights: Path | None, threads: int, int8: bool, int8_chosen: Callable[[str], bool] | None
    ) -> OnnxTowers | None:
        from .onnx_towers import OnnxTowers, OnnxUnavailable

        try:
            towers = OnnxTowers(
                self.spec,
                weights,
                threads,
                # an export records open_clip's own ids for its probes: the reference every
                # later start checks our torch-free tokenizer against (see tokens_match)
                tokenize=lambda texts: np.ascontiguousarray(self._open_clip_tokenizer()(texts), dtype=np.int64),
                load_model=lambda: load_clip_model(self.spec, weights, "cpu"),
                int8=int8,
                on_note=lambda note: log.warning("%s", note),
                int8_chosen=int8_chosen,
            )
        except OnnxUnavailable as exc:
            self.note = f"running the model with torch on the CPU: {exc}"
            return None
        self.note = towers.note
        from .clip_tokenizer import ClipTokenizer

        if isinstance(self.tokenizer, ClipTokenizer) and not towers.tokens_match(self._tokens):
            log.warning("the torch-free tokenizer differs from open_clip's for '%s': using open_clip's", self.spec.name)
            self.tokenizer = self._open_clip_tokenizer()
        return towers

    @property
    def graph(self) -> str:
        """The image graph that makes vectors now: "int8" or "exact"."""
        return "int8" if getattr(self.towers, "int8", False) else "exact"

    @property
    def export_digest(self) -> str | None:
        """What the ONNX export depends on (weights, runtime), or None on torch."""
        return getattr(self.towers, "digest", None)

    @property
    def trying_int8(self) -> int | None:
        """Photos the int8 trial has compared so far; None when no trial runs."""
        trial = self._trial
        return trial.photos if trial is not None else None

    def begin_int8_trial(self, decide: Callable[[Int8Trial], bool]) -> bool:
        """Run the int8 graph beside the exact one on the photos indexed next (`index_images`);
        once enough are in, `decide(trial)` says whether int8 is used from then on."""
        from .onnx_towers import OnnxTowers

        towers = self.towers
        if not isinstance(towers, OnnxTowers) or towers.int8 or not towers.can_try_int8():
            self.note = getattr(towers, "note", None) or self.note
            return False
        self._trial, self._decide = Int8Trial(), decide
        return True

    def use_int8(self, int8: bool) -> None:
        """Make vectors with the int8 graph from now on (a choice made before), or the exact one."""
        from .onnx_towers import OnnxTowers

        towers = self.towers
        if isinstance(towers, OnnxTowers):
            if int8 and not towers.can_try_int8():
                int8 = False
            towers.settle(int8)
            self.backend = towers.name

    def index_images(self, pixels: np.ndarray) -> tuple[np.ndarray, str]:
        """Vectors for indexing, and the graph that made them. While an int8 trial runs, the
        exact graph's vectors are kept and the int8 graph's are compared with them."""
        trial = self._trial
        if trial is None or len(pixels) == 0:
            graph = self.graph  # only this (the indexing) thread switches graphs
            return self.encode_images(pixels), graph
        from .onnx_towers import OnnxTowers

        assert isinstance(self.towers, OnnxTowers)
        started = time.perf_counter()
        exact = self.encode_images(pixels)
        middle = time.perf_counter()
        int8 = _unit_rows(self.towers.encode_images_int8(pixels))
        trial.add(exact, int8, middle - started, time.perf_counter() - middle)
        if trial.ready and self._decide is not None:
            self._trial = None
            self.use_int8(self._decide(trial))
        return exact, "exact"

    def time_text_queries(self, texts: Sequence[str]) -> None:
        """Encode each text alone, as a typed query is, to time the text encoder here (nothing is cached)."""
        assert self.towers is not None
        for text in texts:
            started = time.perf_counter()
            self.towers.encode_tokens(self._tokens([text]))
            with self._recent_lock:
                self._text_seconds.append(time.perf_counter() - started)

    def text_seconds_p95(self) -> float | None:
        """How long encoding one new text query took here lately (p95), once a few were timed:
        what is left of the keystroke-to-results budget bounds how wide a text search may look."""
        with self._recent_lock:
            timings = sorted(self._text_seconds)
        if len(timings) < TIMED_TEXTS_NEEDED:
            return None
        return timings[min(len(timings) - 1, int(0.95 * len(timings)))]

    @property
    def threads(self) -> int:
        """CPU threads inference really uses."""
        assert self.towers is not None
        return self.towers.threads

    def _open_clip_tokenizer(self) -> Callable[[list[str]], np.ndarray]:
        """open_clip's own tokenizer (imports torch), for models ours does not cover."""
        import open_clip

        _register_config(self.spec)
        tokenizer = open_clip.get_tokenizer(self.spec.arch)
        return lambda texts: tokenizer(texts).numpy()

    def _tokens(self, texts: list[str]) -> np.ndarray:
        return np.ascontiguousarray(self.tokenizer(texts), dtype=np.int64)

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        if len(pixels) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        assert self.towers is not None
        return _unit_rows(self.towers.encode_images(pixels))

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """One vector per text; texts seen recently come from memory (as-you-type repeats them)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._recent_lock:
            known = {text: self._recent[text] for text in texts if text in self._recent}
            for text in known:
                self._recent.move_to_end(text)
        new = list(dict.fromkeys(text for text in texts if text not in known))
        if new:
            assert self.towers is not None
            started = time.perf_counter()
            vectors = _unit_rows(self.towers.encode_tokens(self._tokens(new)))
            with self._recent_lock:
                if len(new) == 1:  # a query as the user types it
                    self._text_seconds.append(time.perf_counter() - started)
                for text, vector in zip(new, vectors, strict=True):
                    known[text] = self._recent[text] = vector
                while len(self._recent) > RECENT_QUERIES:
                    self._recent.popitem(last=False)
        return np.stack([known[text] for text in texts]).astype(np.float32, copy=True)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Re-normalise in float32 (fp16 inference leaves rows a hair off unit length)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True).astype(np.float32)
    return np.ascontiguousarray(matrix / np.maximum(norms, np.float32(1e-12)), dtype=np.float32)
