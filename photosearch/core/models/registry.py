"""Which CLIP models photosearch offers, and where each one's weights come from.

Every model ends up as the same two things: an open_clip architecture name and a local weights
file. Downloaded, imported and bundled weights then load through one code path (the embedder
never knows which kind it got). Nothing here imports torch or open_clip at module level:
`photosearch models` and `--help` must stay instant.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from photosearch.errors import UserError

TINY_MODEL_NAME = "tiny-shapes"
TINY_MODEL_DIR = Path(__file__).resolve().parents[2] / "resources" / "models"
DEFAULT_MODEL = "ViT-B-32-256"
GPU_QUALITY_MODEL = "ViT-L-14"

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
HUB_FILENAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
NETWORK_PROBE_TIMEOUT_S = 3.0


class ModelUnavailable(UserError):
    """A model that cannot be loaded; the message says what is missing and what to do."""


@dataclass(frozen=True)
class ModelSpec:
    """A model the user can choose by `name`."""

    name: str
    arch: str  # open_clip architecture
    dim: int
    image_size: int
    licence: str
    summary: str
    hub_repo: str | None = None  # weights downloaded on first use
    pretrained: str | None = None  # open_clip pretrained tag, for reference
    weights: str | None = None  # a local weights file: bundled or imported
    config: str | None = None  # a custom architecture's open_clip JSON config
    mean: tuple[float, float, float] = OPENAI_MEAN
    std: tuple[float, float, float] = OPENAI_STD


BUILTIN_MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name=DEFAULT_MODEL,
            arch="ViT-B-32-256",
            pretrained="datacomp_s34b_b86k",
            hub_repo="laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K",
            dim=512,
            image_size=256,
            licence="MIT",
            summary="default: best quality per CPU-second (ImageNet zero-shot 72.8%)",
        ),
        ModelSpec(
            name="ViT-B-32",
            arch="ViT-B-32",
            pretrained="laion2b_s34b_b79k",
            hub_repo="laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
            dim=512,
            image_size=224,
            licence="MIT",
            summary="fastest real model (ImageNet zero-shot 66.6%)",
        ),
        ModelSpec(
            name=GPU_QUALITY_MODEL,
            arch="ViT-L-14",
            pretrained="datacomp_xl_s13b_b90k",
            hub_repo="laion/CLIP-ViT-L-14-DataComp.XL-s13B-b90K",
            dim=768,
            image_size=224,
            licence="MIT",
            summary="quality model for a GPU (ImageNet zero-shot 79.2%; about 15× slower on a CPU)",
        ),
        ModelSpec(
            name=TINY_MODEL_NAME,
            arch=TINY_MODEL_NAME,
            weights=str(TINY_MODEL_DIR / f"{TINY_MODEL_NAME}.safetensors"),
            config=str(TINY_MODEL_DIR / f"{TINY_MODEL_NAME}.json"),
            dim=64,
            image_size=64,
            licence="MIT (trained by photosearch)",
            summary="bundled test/demo model: knows 6 colours, 3 shapes and two-colour layouts only",
        ),
    )
}


def model_cache_dir() -> Path:
    """Downloaded weights live in the user cache (they can always be fetched again)."""
    override = os.environ.get("PHOTOSEARCH_MODEL_CACHE")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("photosearch")) / "models"


def imported_models_dir(library: Path) -> Path:
    return library / "models"


def _imported_specs(library: Path | None) -> dict[str, ModelSpec]:
    if library is None:
        return {}
    specs: dict[str, ModelSpec] = {}
    folder = imported_models_dir(library)
    for meta in sorted(folder.glob("*.model.json")) if folder.is_dir() else []:
        try:
            data = json.loads(meta.read_text())
            data["mean"], data["std"] = tuple(data["mean"]), tuple(data["std"])
            spec = ModelSpec(**data)
        except (OSError, ValueError, TypeError):
            continue
        specs[spec.name] = spec
    return specs


def available_models(library: Path | None = None) -> dict[str, ModelSpec]:
    """Built-in models plus the ones imported into `library`."""
    return {**BUILTIN_MODELS, **_imported_specs(library)}


def get_model(name: str, library: Path | None = None) -> ModelSpec:
    models = available_models(library)
    if name in models:
        return models[name]
    lowered = {key.lower(): spec for key, spec in models.items()}
    if name.lower() in lowered:
        return lowered[name.lower()]
    raise ModelUnavailable(f"unknown model '{name}'; choose one of: {', '.join(models)} (see `photosearch models`)")


def cached_weights(spec: ModelSpec) -> Path | None:
    """The local weights file for `spec` if it is already on disk (never touches the network)."""
    if spec.weights:
        path = Path(spec.weights)
        return path if path.is_file() else None
    if not spec.hub_repo:
        return None
    # The hub cache's documented layout, read directly: importing huggingface_hub costs a
    # quarter of a second, which `status` and `models` should not pay to look at one file.
    repo = model_cache_dir() / ("models--" + spec.hub_repo.replace("/", "--"))
    try:
        revision = (repo / "refs" / "main").read_text().strip()
    except OSError:
        return None
    for filename in HUB_FILENAMES:
        found = repo / "snapshots" / revision / filename
        if found.is_file():
            return found
    return None


def weights_missing(spec: ModelSpec, reason: str) -> ModelUnavailable:
    """The error for weights that are not here and could not be fetched: the command line's
    message says what to run; its plain words (the window's) say what to fetch."""
    where = f"{HUB_FILENAMES[0]} or {HUB_FILENAMES[1]} from hub repository {spec.hub_repo}"
    return ModelUnavailable(
        f"model '{spec.name}' needs its weights file ({where}) and {reason}. Download it on a connected "
        f"machine and run `photosearch models import FILE --arch {spec.arch} --name {spec.name}`, or use "
        f"--model {TINY_MODEL_NAME} to try photosearch offline",
        plain=f"{reason}; its weights file is {where}",
    )
