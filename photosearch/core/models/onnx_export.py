"""Turning a loaded open_clip model into two ONNX graphs, one per tower (the torch side).

The image graph takes the pipeline's uint8 pixels as they are, (N, S, S, 3), and does the
layout change and normalisation itself, so nothing but the runtime touches a batch. The text
graph takes token ids of any length: the caller cuts them after the longest end token (the
prefix shortcut of `torch_towers`, traced with a free length), unless the model's text tower
is not of the causal shape that allows it, in which case it takes all positions.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .registry import ModelSpec
from .torch_towers import encode_text_positions, prefix_matches_full

OPSET = 18
MAX_BATCH = 4096
PROBE_TEXTS = ("a photo of a dog on a beach at sunset", "red circle", "")
PROBE_IMAGES = 2


def probe_pixels(image_size: int) -> np.ndarray:
    """Fixed pictures every export is checked on (made, never stored)."""
    return np.random.default_rng(20_241_130).integers(0, 256, (PROBE_IMAGES, image_size, image_size, 3), dtype=np.uint8)


def _image_graph(model: Any, spec: ModelSpec) -> Any:
    import torch

    class ImageGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.mean = torch.tensor(spec.mean).view(1, 3, 1, 1) * 255.0  # traced into the graph as constants
            self.std = torch.tensor(spec.std).view(1, 3, 1, 1) * 255.0

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            x = (pixels.permute(0, 3, 1, 2).float() - self.mean) / self.std
            return self.model.encode_image(x, normalize=True)

    return ImageGraph().eval()


def _text_graph(model: Any, prefix: bool) -> Any:
    import torch

    class TextGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            if prefix:
                return encode_text_positions(self.model, tokens)
            return self.model.encode_text(tokens, normalize=True)

    return TextGraph().eval()


def text_prefix_allowed(model: Any, tokens: np.ndarray) -> bool:
    import torch

    with torch.inference_mode():
        return prefix_matches_full(model, torch.from_numpy(tokens))


def export_image_tower(model: Any, spec: ModelSpec, image_size: int, target: Path) -> None:
    import torch

    example = torch.from_numpy(probe_pixels(image_size))
    _export(_image_graph(model, spec), example, target, "pixels", {0: torch.export.Dim("batch", min=1, max=MAX_BATCH)})


def export_text_tower(model: Any, prefix: bool, tokens: np.ndarray, target: Path) -> None:
    import torch

    shape = {0: torch.export.Dim("batch", min=1, max=MAX_BATCH)}
    if prefix:  # any length from the start token and one more up to the full context
        shape[1] = torch.export.Dim("positions", min=2, max=int(model.positional_embedding.shape[0]))
    _export(_text_graph(model, prefix), torch.from_numpy(tokens), target, "tokens", shape)


def torch_references(model: Any, spec: ModelSpec, image_size: int, tokens: np.ndarray) -> dict[str, np.ndarray]:
    """What torch's full towers give for the probes in fp32 (the export must match these)."""
    import torch

    with torch.inference_mode():
        images = _image_graph(model, spec)(torch.from_numpy(probe_pixels(image_size)))
        texts = model.encode_text(torch.from_numpy(tokens), normalize=True)
    return {"image": images.float().numpy(), "text": texts.float().numpy()}


@contextlib.contextmanager
def quiet_tools() -> Iterator[None]:
    """The exporter and the quantiser print and log every pass they run: a search's stdout
    (--json) must stay clean, and the log readable. Their result is verified instead."""
    for name in ("onnx_ir", "onnxscript", "torch.onnx", "torch.export", "onnxruntime"):
        logging.getLogger(name).setLevel(logging.ERROR)
    root = logging.getLogger()
    chatter = io.StringIO()
    root.addFilter(_not_the_quantiser)  # it logs its advice on the root logger, past any redirect
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            warnings.simplefilter("ignore")
            yield
    finally:
        root.removeFilter(_not_the_quantiser)


def _not_the_quantiser(record: logging.LogRecord) -> bool:
    return "onnxruntime" not in record.pathname or record.levelno >= logging.ERROR


def _export(graph: Any, example: Any, target: Path, input_name: str, dynamic: dict[int, Any]) -> None:
    """torch's exporter (the one built on torch.export: it keeps batch and length free, where
    the older tracer baked the example's sequence length into the attention reshapes)."""
    import torch

    with quiet_tools():
        torch.onnx.export(
            graph,
            (example,),
            str(target),
            input_names=[input_name],
            output_names=["vectors"],
            dynamic_shapes=(dynamic,),
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
