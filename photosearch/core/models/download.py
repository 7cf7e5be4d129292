"""Downloading a model's weights into the user cache, with progress and cancel.

The file lands where `registry.cached_weights` looks (the model hub's cache layout: a
`refs/main` revision and `snapshots/<revision>/<file>`), so a download made here, one made by
huggingface_hub and an `open_clip` cache all count the same. It is written to a `.part` file
that a later attempt resumes (an HTTP range request), checked against the hub's SHA-256 when the
hub names one, opened as weights, and renamed into place only when whole: a cancelled, broken
or garbled download never leaves a file that looks like weights. The server is not trusted with
names: the revision it reports becomes a folder name only when it is a plain name. The hub
address honours `HF_ENDPOINT`, as the hub's own tools do; nothing is ever downloaded but weights
the registry names.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlparse

from photosearch.records import DownloadProgress

from .registry import HUB_FILENAMES, ModelSpec, ModelUnavailable, cached_weights, model_cache_dir, weights_missing

CHUNK = 1 << 20
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
REPORT_EVERY_S = 0.2
_SHA256 = re.compile(r'^"?([0-9a-f]{64})"?$')
_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")  # a commit id or a branch: never a path


class DownloadCancelled(ModelUnavailable):
    """The user cancelled; what was fetched so far is kept for the next attempt."""


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def hub_reachable(endpoint: str | None = None) -> bool:
    """A quick TCP connect, so an offline machine fails in seconds, not after retries."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    url = urlparse(endpoint or hub_endpoint())
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def download_weights(
    spec: ModelSpec,
    on_progress: Callable[[DownloadProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """The local weights file of `spec`, downloaded now if it is not on disk yet."""
    found = cached_weights(spec)
    if found is not None:
        return found
    if not spec.hub_repo:
        raise ModelUnavailable(f"model '{spec.name}' has no download: its weights file {spec.weights} is missing")
    endpoint = hub_endpoint()
    if not hub_reachable(endpoint):
        raise weights_missing(spec, "this computer cannot reach the model hub")
    errors: list[str] = []
    for filename in HUB_FILENAMES:
        try:
            return _fetch(spec, endpoint, filename, on_progress, cancel or threading.Event())
        except DownloadCancelled:
            raise
        except FileNotFoundError:
            errors.append(f"{filename}: not in the repository")
        except (OSError, urllib.error.URLError, ValueError) as exc:
            errors.append(f"{filename}: {exc}")
    raise weights_missing(spec, f"the download failed ({'; '.join(errors)})")


def resolve_weights(spec: ModelSpec) -> Path:
    """A local weights file for `spec`, downloading it once if needed (the embedder's first use)."""
    return download_weights(spec)


def _tls_context() -> ssl.SSLContext:
    """The operating system's certificate store (Keychain, Windows, the distribution's bundle)
    through truststore: an installed app's own OpenSSL (macOS) has no certificates of its own."""
    try:
        import truststore
    except ImportError:
        return ssl.create_default_context()
    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _fetch(
    spec: ModelSpec,
    endpoint: str,
    filename: str,
    on_progress: Callable[[DownloadProgress], None] | None,
    cancel: threading.Event,
) -> Path:
    assert spec.hub_repo is not None
    repo_dir = model_cache_dir() / ("models--" + spec.hub_repo.replace("/", "--"))
    part = repo_dir / "blobs" / f"{filename}.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(f"{endpoint}/{quote(spec.hub_repo)}/resolve/main/{quote(filename)}")
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=READ_TIMEOUT_S, context=_tls_context())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise FileNotFoundError(filename) from None
        if exc.code == 416 and have:  # the part is already whole (or stale): start again
            part.unlink()
            return _fetch(spec, endpoint, filename, on_progress, cancel)
        raise OSError(f"HTTP {exc.code} {exc.reason}") from None
    with response:
        resumed = response.status == 206
        if not resumed:
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        revision = response.headers.get("X-Repo-Commit") or "main"
        if not _REVISION.match(revision):
            raise ValueError(f"the hub named a revision that is not a plain name ({revision[:60]!r})")
        digest = _SHA256.match((response.headers.get("X-Linked-Etag") or response.headers.get("ETag") or "").lower())
        started, done, last = time.monotonic(), have, 0.0
        with open(part, "ab" if resumed else "wb") as out:
            while True:
                if cancel.is_set():
                    raise DownloadCancelled(f"download of '{spec.name}' cancelled ({done} bytes kept for next time)")
                block = response.read(CHUNK)
                if not block:
                    break
                out.write(block)
                done += len(block)
                now = time.monotonic()
                if on_progress is not None and now - last >= REPORT_EVERY_S:
                    last = now
                    on_progress(DownloadProgress(spec.name, done, total, (done - have) / max(1e-6, now - started)))
            out.flush()
            os.fsync(out.fileno())
    if total is not None and done != total:
        raise OSError(f"the connection closed early ({done} of {total} bytes)")
    if digest and _sha256_of(part) != digest.group(1):
        part.unlink()
        raise ValueError("the downloaded file does not match the hub's checksum; try again")
    if not _opens_as_weights(part, filename):
        part.unlink()
        raise ValueError("the downloaded file is not a weights file; try again")
    target = repo_dir / "snapshots" / revision / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, target)
    refs = repo_dir / "refs"
    refs.mkdir(exist_ok=True)
    (refs / "main").write_text(revision)
    if on_progress is not None:
        on_progress(DownloadProgress(spec.name, done, done, (done - have) / max(1e-6, time.monotonic() - started)))
    return target


def _opens_as_weights(path: Path, filename: str) -> bool:
    """Whether a finished download reads as weights (without a checksum from the hub, nothing
    else tells a garbled or foreign file from the real one): a safetensors file whose header and
    tensors check out, or a torch file's zip archive."""
    if filename.endswith(".safetensors"):
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="numpy") as weights:
                return bool(list(weights.keys()))
        except Exception:  # any complaint from the reader means it is not a weights file
            return False
    return zipfile.is_zipfile(path)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
