"""The int8 agreement measure: what it counts as agreeing, and what not."""

from __future__ import annotations

import numpy as np

from photosearch.core.models.int8_agreement import LEAST_PHOTOS, RECALL_BAR, measure


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_identical_vectors_agree_fully_and_a_small_set_says_too_little() -> None:
    rng = np.random.default_rng(1)
    photos, texts = _unit(rng.normal(size=(80, 32))), _unit(rng.normal(size=(12, 32)))
    same = measure(photos, photos.copy(), texts)
    assert (same.text_recall, same.image_recall, same.cosine_least) == (1.0, 1.0, 1.0) and same.holds
    few = measure(photos[:20], photos[:20].copy(), texts)
    assert not few.holds and f"at least {LEAST_PHOTOS}" in few.why_not()


def test_moved_vectors_lower_recall_but_ties_are_not_disagreements() -> None:
    rng = np.random.default_rng(2)
    photos, texts = _unit(rng.normal(size=(120, 32))), _unit(rng.normal(size=(20, 32)))
    moved = measure(photos, _unit(photos + rng.normal(scale=0.35, size=photos.shape)), texts)
    assert moved.cosine_least < 0.99 and moved.text_recall < RECALL_BAR and not moved.holds
    assert "recall@10" in moved.why_not()
    # a burst: copies of one photo score the same for every query; which copy comes tenth is no disagreement
    burst = _unit(np.repeat(photos[:1], 15, axis=0) + rng.normal(scale=1e-4, size=(15, 32)))  # near-identical frames
    library = np.concatenate([burst, photos[1:60]])
    jittered = _unit(library + rng.normal(scale=1e-4, size=library.shape))
    query = _unit(photos[:1] + rng.normal(scale=0.05, size=(1, 32)))
    tied = measure(library, jittered, query)
    assert tied.text_recall == 1.0, "equally good answers in another order still agree"
