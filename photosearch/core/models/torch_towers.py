"""CLIP's two towers run by torch: the path for CUDA and Apple MPS, and the CPU fallback.

Also home of the end-token prefix shortcut for the text tower, which the ONNX export reuses
(the exported text graph is this same function, traced with a free sequence length).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .registry import ModelSpec

if TYPE_CHECKING:
    import torch


class TorchTowers:
    """Batched inference with a loaded open_clip model on its device (fp16 on CUDA)."""

    name = "torch"

    def __init__(self, model: Any, dim: int, image_size: int, spec: ModelSpec, device: str) -> None:
        import torch

        self.dim, self.image_size = dim, image_size
        self.device = device
        self.half = device.startswith("cuda")
        self.model = model.half() if self.half else model
        self.dtype = torch.float16 if self.half else torch.float32
        self._mean = torch.tensor(spec.mean, device=device, dtype=self.dtype).view(1, 3, 1, 1) * 255.0
        self._std = torch.tensor(spec.std, device=device, dtype=self.dtype).view(1, 3, 1, 1) * 255.0
        self._prefix_ok: bool | None = None  # decided on the first text query

    @property
    def threads(self) -> int:
        """torch's intra-op threads (a per-process setting)."""
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
        import torch

        with torch.inference_mode():
            features = self.model.encode_image(self.to_input(pixels), normalize=True)
        return features.float().cpu().numpy()

    def encode_tokens(self, tokens: np.ndarray) -> np.ndarray:
        """(N, context) int64 token ids, as open_clip's tokenizer pads them → (N, dim)."""
        import torch

        with torch.inference_mode():
            ids = torch.from_numpy(tokens).to(self.device)
            if self._prefix_ok is None:
                self._prefix_ok = prefix_matches_full(self.model, ids)
            if self._prefix_ok:
                features = encode_text_positions(self.model, ids[:, : prefix_length(tokens)])
            else:
                features = self.model.encode_text(ids, normalize=True)
        return features.float().cpu().numpy()


def prefix_length(tokens: np.ndarray) -> int:
    """Positions up to the longest query's end token (padding is id 0)."""
    return max(1, int((tokens != 0).sum(axis=1).max()))


def encode_text_positions(model: Any, tokens: torch.Tensor) -> torch.Tensor:
    """CLIP's text tower over only the positions given instead of all 77.

    The tower is causal and pools at the end token, so every position after it is padding that
    cannot change the result: a 5-word query costs ~8 positions instead of 77 (about 10× less
    CPU time per search keystroke). Used only after `prefix_matches_full` confirmed it. The
    length comes from the tensor's shape, so a traced export keeps it free.
    """
    import torch
    from open_clip.transformer import text_global_pool

    length = tokens.shape[1]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:length].to(cast)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = text_global_pool(x, tokens, model.text_pool_type, eos_token_id=getattr(model, "text_eos_id", None))
    if model.text_projection is not None:
        x = model.text_projection(x) if isinstance(model.text_projection, torch.nn.Linear) else x @ model.text_projection
    return torch.nn.functional.normalize(x, dim=-1)


def prefix_matches_full(model: Any, tokens: torch.Tensor) -> bool:
    """Whether this model's text tower has the causal CLIP shape the prefix shortcut relies on."""
    needed = ("token_embedding", "positional_embedding", "attn_mask", "transformer", "ln_final", "text_pool_type")
    if not all(getattr(model, name, None) is not None for name in needed):
        return False
    if model.text_pool_type not in ("argmax", "eos") or model.attn_mask.dim() != 2:
        return False
    try:
        short = encode_text_positions(model, tokens[:, : prefix_length(tokens.cpu().numpy())]).float()
    except (RuntimeError, TypeError, AttributeError, IndexError):
        return False
    full = model.encode_text(tokens, normalize=True).float()
    return bool((short - full).abs().max() < 2e-3)
