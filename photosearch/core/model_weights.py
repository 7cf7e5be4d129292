"""Which models there are and whether their weights are here; importing and downloading them.

None of this needs an open library (a window asks before any library is chosen), so these are
functions, reached through the library module like everything else in the core.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from photosearch.records import DownloadProgress, ModelInfo

from .layout import default_library_home
from .models.registry import DEFAULT_MODEL, ModelSpec, ModelUnavailable, available_models, cached_weights, get_model


def weights_present(spec: ModelSpec) -> bool:
    """Whether the model's weights are on disk (bundled, downloaded or imported)."""
    try:
        return cached_weights(spec) is not None
    except (ModelUnavailable, OSError, ImportError):
        return False


def _info(spec: ModelSpec, present: bool) -> ModelInfo:
    return ModelInfo(
        spec.name, spec.arch, spec.pretrained, spec.dim, spec.licence, present, spec.name == DEFAULT_MODEL, spec.summary
    )


def list_models(home: Path | None = None) -> list[ModelInfo]:
    """Built-in models and those imported into the library at `home`."""
    return [_info(spec, weights_present(spec)) for spec in available_models(home or default_library_home()).values()]


def import_model(home: Path | None, source: Path, arch: str, name: str | None = None) -> ModelInfo:
    """Import a weights file into the library at `home` as a model of its own (loads torch)."""
    from .models.importer import import_weights

    return _info(import_weights(home or default_library_home(), source, arch, name), True)


def download_model(
    name: str,
    home: Path | None = None,
    on_progress: Callable[[DownloadProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Download a model's weights (progress, cancel); a model already on disk returns at once.
    Offline, ModelUnavailable says how to import the file instead."""
    from .models.download import download_weights

    return download_weights(get_model(name, home or default_library_home()), on_progress, cancel)
