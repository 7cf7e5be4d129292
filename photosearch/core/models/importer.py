"""Importing a user's weights file into a library as a model of its own.

Kept apart from the registry because it needs torch (to read a checkpoint safely and to check the
weights against their architecture); the registry must stay importable without it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from photosearch.errors import one_line

from .embedder import load_clip_model
from .registry import BUILTIN_MODELS, OPENAI_MEAN, OPENAI_STD, ModelSpec, ModelUnavailable, imported_models_dir

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def import_weights(library: Path, source: Path, arch: str, name: str | None = None) -> ModelSpec:
    """Copy a user's weights file into the library as safetensors and register it as a model.

    A torch checkpoint is read with `weights_only=True` (it cannot run code) and converted; the
    weights are checked by loading them into the architecture before anything is registered.
    """
    source = source.expanduser()
    if not source.is_file():
        raise ModelUnavailable(f"no such weights file: {source}")
    name = name or f"{arch}-{source.stem}"
    if not _NAME_PATTERN.match(name):
        raise ModelUnavailable(f"model name '{name}' may use letters, digits, '.', '_' and '-' only")
    if name in BUILTIN_MODELS and BUILTIN_MODELS[name].weights:
        raise ModelUnavailable(f"'{name}' is a bundled model and cannot be replaced")
    base = BUILTIN_MODELS.get(name) or next((s for s in BUILTIN_MODELS.values() if s.arch == arch), None)
    folder = imported_models_dir(library)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.safetensors"
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        staged = Path(scratch) / target.name
        _to_safetensors(source, staged)
        config = base.config if base else None
        probe = ModelSpec(name=name, arch=arch, dim=0, image_size=0, licence="", summary="", weights=str(staged), config=config)
        try:
            model, dim, image_size = load_clip_model(probe, staged, device="cpu")
        except Exception as exc:  # named by the user's file, never by the scratch copy that is about to go
            reason = one_line(exc).replace(str(staged), source.name)
            raise ModelUnavailable(
                reason if isinstance(exc, ModelUnavailable) else f"{source.name} cannot be used as a {arch} model: {reason}"
            ) from None
        del model
        os.replace(staged, target)
    spec = ModelSpec(
        name=name,
        arch=arch,
        dim=dim,
        image_size=image_size,
        licence=(base.licence + " (as published)") if base else "as published by the weights' authors",
        summary=f"imported from {source.name} on {time.strftime('%Y-%m-%d')}",
        weights=str(target),
        config=config,
        mean=base.mean if base else OPENAI_MEAN,
        std=base.std if base else OPENAI_STD,
    )
    meta = folder / f"{name}.model.json"
    meta.write_text(json.dumps(asdict(spec), indent=2))
    return spec


def _to_safetensors(source: Path, target: Path) -> None:
    if source.suffix == ".safetensors":
        shutil.copyfile(source, target)
        return
    import torch
    from safetensors.torch import save_file

    try:
        checkpoint = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelUnavailable(f"{source.name} is not a weights file that can be loaded safely ({type(exc).__name__})") from None
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, dict) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise ModelUnavailable(f"{source.name} does not hold a plain dictionary of weights")
    state = {k.removeprefix("module."): v.contiguous() for k, v in checkpoint.items()}
    save_file(state, str(target))
