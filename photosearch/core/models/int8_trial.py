"""int8 by default where it proves itself, on the user's own weights and photos.

A library that may choose (the automatic backend, ONNX Runtime on a CPU) indexes its first
`TRIAL_PHOTOS` photos with the exact image graph and runs the int8 graph on the same decoded
batches beside it, timing both. Then it compares the two (`int8_agreement.measure`: recall@10
of text searches, for everyday queries and the ones the user typed, and of "more like this"
searches) and the speed: int8 is used from then on only if its searches agree and it is
really faster here. The choice and its figures are kept with the library (per model and
export), so it is made once; `--backend onnx` / `onnx-int8` still force either.

The trial's photos keep their exact vectors. Its cost is one int8 inference per trial photo.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from .int8_agreement import Agreement, measure

TRIAL_PHOTOS = 200
SPEED_BAR = 1.25  # int8 must be at least this much faster than exact to be worth any approximation


@dataclass(frozen=True)
class Int8Choice:
    """What a library chose for one model's export, and why."""

    chosen: bool
    why: str  # one line for status
    digest: str  # the export it was measured on (weights and runtime)
    agreement: dict[str, float | int] | None = None
    speed_up: float | None = None

    def to_text(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_text(cls, text: str | None) -> Int8Choice | None:
        try:
            data = json.loads(text or "")
            return cls(bool(data["chosen"]), str(data["why"]), str(data["digest"]), data.get("agreement"), data.get("speed_up"))
        except (ValueError, KeyError, TypeError):
            return None


class Int8Trial:
    """The trial photos' vectors from both graphs, and the time each graph took for them."""

    def __init__(self, needed: int | None = None) -> None:
        self.needed = needed or TRIAL_PHOTOS
        self._exact: list[np.ndarray] = []
        self._int8: list[np.ndarray] = []
        self.exact_s = self.int8_s = 0.0

    @property
    def photos(self) -> int:
        return sum(len(batch) for batch in self._exact)

    @property
    def ready(self) -> bool:
        return self.photos >= self.needed

    def add(self, exact: np.ndarray, int8: np.ndarray, exact_s: float, int8_s: float) -> None:
        self._exact.append(np.asarray(exact, dtype=np.float32))
        self._int8.append(np.asarray(int8, dtype=np.float32))
        self.exact_s += exact_s
        self.int8_s += int8_s

    def decide(self, text_vectors: np.ndarray, digest: str) -> Int8Choice:
        """int8 if its searches agree with exact ones and it is faster (figures kept either way)."""
        agreement: Agreement = measure(np.concatenate(self._exact), np.concatenate(self._int8), text_vectors)
        speed_up = round(self.exact_s / self.int8_s, 2) if self.int8_s > 0 else 0.0
        figures = (
            f"recall@{agreement.k} {agreement.text_recall:.3f} (text), {agreement.image_recall:.3f} (photos), "
            f"{speed_up:.2f}× the exact speed, on {agreement.photos} of your photos"
        )
        if not agreement.holds:
            chosen, why = False, f"exact: {agreement.why_not()} ({figures})"
        elif speed_up < SPEED_BAR:
            chosen, why = False, f"exact: int8 is not faster enough here ({figures})"
        else:
            chosen, why = True, f"int8: its searches agree with exact ones ({figures})"
        return Int8Choice(chosen, why, digest, agreement.to_json(), speed_up)
