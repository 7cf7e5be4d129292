"""The CLIP embedder: uint8 pictures and query strings in, unit-length float32 vectors out.

torch and open_clip are imported here, lazily, and nowhere else in the core: importing
photosearch must stay fast, and the window's process (the worker client) must never load them. Any model (bundled,
downloaded or imported) is an open_clip architecture plus a weights file, loaded by the same
`load_clip_model`.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .download import resolve_weights
from .registry import ModelSpec, ModelUnavailable

if TYPE_CHECKING:
    import torch

_registered_configs: set[str] = set()
_register_lock = threading.Lock()


class _QuietOpenClip(logging.Filter):
    """open_clip warns 'No pretrained weights loaded' for every model we load weights into ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "No pretrained weights loaded" not in record.getMessage()


def choose_device(preference: str | None = None) -> str:
    """CUDA, then Apple MPS, then CPU; `preference` ('cpu', 'cuda', 'cuda:1', 'mps') overrides."""
    import torch

    wanted = (preference or os.environ.get("PHOTOSEARCH_DEVICE") or "auto").lower()
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

    _register_config(spec)
    quiet = _QuietOpenClip()
    logging.getLogger().addFilter(quiet)
    try:
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
    ) -> None:
        # find the weights before importing torch: a missing model fails in seconds, not after imports
        weights = None if random_weights else resolve_weights(spec)
        import open_clip
        import torch

        if threads:
            torch.set_num_threads(max(1, threads))
        self.spec = spec
        self.device = choose_device(device)
        self.model, self.dim, self.image_size = load_clip_model(spec, weights, self.device)
        self.half = self.device.startswith("cuda")
        if self.half:
            self.model = self.model.half()
        self.dtype = torch.float16 if self.half else torch.float32
        self.tokenizer = open_clip.get_tokenizer(spec.arch)
        self._mean = torch.tensor(spec.mean, device=self.device, dtype=self.dtype).view(1, 3, 1, 1) * 255.0
        self._prefix_ok: bool | None = None  # decided on the first text query
        self._std = torch.tensor(spec.std, device=self.device, dtype=self.dtype).view(1, 3, 1, 1) * 255.0

    @property
    def threads(self) -> int:
        """CPU threads inference really uses (torch's setting is per process)."""
        import torch

        return int(torch.get_num_threads())

    def to_input(self, pixels: np.ndarray) -> torch.Tensor:
        """(N, S, S, 3) uint8 → normalised (N, 3, S, S) tensor on the device (transfer as uint8: 4× less)."""
        import torch

        pixels = np.ascontiguousarray(pixels)
        if not pixels.flags.writeable:  # a decoded picture is read-only; torch wants to own writable memory
            pixels = pixels.copy()
        batch = torch.from_numpy(pixels).to(self.device, non_blocking=True)
        batch = batch.permute(0, 3, 1, 2).to(self.dtype)
        return (batch - self._mean) / self._std

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        if len(pixels) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        with torch.inference_mode():
            features = self.model.encode_image(self.to_input(pixels), normalize=True)
        return _unit_rows(features.float().cpu().numpy())

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        with torch.inference_mode():
            tokens = self.tokenizer(texts).to(self.device)
            if self._prefix_ok is None:
                self._prefix_ok = _prefix_matches_full(self.model, tokens)
            if self._prefix_ok:
                features = _encode_text_prefix(self.model, tokens)
            else:
                features = self.model.encode_text(tokens, normalize=True)
        return _unit_rows(features.float().cpu().numpy())


def _encode_text_prefix(model: Any, tokens: torch.Tensor) -> torch.Tensor:
    """CLIP's text tower over the tokens up to the longest end token instead of all 77 positions.

    The tower is causal and pools at the end token, so every position after it is padding that
    cannot change the result: a 5-word query costs ~8 positions instead of 77 (about 10× less
    CPU time per search keystroke). Used only after `_prefix_matches_full` confirmed it.
    """
    import torch
    from open_clip.transformer import text_global_pool

    length = max(1, int((tokens != 0).sum(dim=1).max()))
    tokens = tokens[:, :length]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:length].to(cast)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = text_global_pool(x, tokens, model.text_pool_type, eos_token_id=getattr(model, "text_eos_id", None))
    if model.text_projection is not None:
        x = model.text_projection(x) if isinstance(model.text_projection, torch.nn.Linear) else x @ model.text_projection
    return torch.nn.functional.normalize(x, dim=-1)


def _prefix_matches_full(model: Any, tokens: torch.Tensor) -> bool:
    """Whether this model's text tower has the causal CLIP shape the prefix shortcut relies on."""
    needed = ("token_embedding", "positional_embedding", "attn_mask", "transformer", "ln_final", "text_pool_type")
    if not all(getattr(model, name, None) is not None for name in needed):
        return False
    if model.text_pool_type not in ("argmax", "eos") or model.attn_mask.dim() != 2:
        return False
    try:
        short = _encode_text_prefix(model, tokens).float()
    except (RuntimeError, TypeError, AttributeError, IndexError):
        return False
    full = model.encode_text(tokens, normalize=True).float()
    return bool((short - full).abs().max() < 2e-3)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Re-normalise in float32 (fp16 inference leaves rows a hair off unit length)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True).astype(np.float32)
    return np.ascontiguousarray(matrix / np.maximum(norms, np.float32(1e-12)), dtype=np.float32)
