"""The torch text shortcut: encoding only up to the end token gives CLIP's exact answer."""

from __future__ import annotations

import numpy as np

from photosearch.core.models.embedder import Embedder
from photosearch.core.models.registry import get_model
from photosearch.core.models.torch_towers import TorchTowers


def test_text_prefix_encoding_equals_the_full_context() -> None:
    embedder = Embedder(get_model("tiny-shapes"), device="cpu", threads=1, backend="torch")
    towers = embedder.towers
    assert isinstance(towers, TorchTowers)
    texts = ["a red circle", "a blue square above a yellow triangle on a white background", "x"]
    fast = embedder.encode_texts(texts)
    assert towers._prefix_ok is True  # the tiny model has CLIP's causal text tower
    towers._prefix_ok = False
    full = towers.encode_tokens(embedder._tokens(texts))
    assert fast.shape == full.shape == (3, embedder.dim)
    np.testing.assert_allclose(fast, full, atol=1e-5)
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
