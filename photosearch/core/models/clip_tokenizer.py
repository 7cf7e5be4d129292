"""CLIP's byte-pair tokenizer, without torch.

open_clip's tokenizer module imports torch, which costs a process about 700 MB of memory and
seconds of start-up; a worker that runs the model through ONNX Runtime needs nothing from torch
but token ids. This is the same algorithm (byte-level BPE over open_clip's own vocabulary file,
ftfy and HTML clean-up, lower case, start and end tokens, truncation that keeps the end token),
used only for models whose configuration names no other tokenizer. The embedder checks it
against the token ids open_clip gave when the export was made, and uses open_clip's when
they differ.
"""

from __future__ import annotations

import gzip
import html
import importlib.util
import itertools
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .registry import ModelSpec

VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
MERGES = 49152 - 256 - 2  # the vocabulary file's merges that CLIP uses
SPECIAL = ("<start_of_text>", "<end_of_text>")
DEFAULT_CONTEXT = 77


def _open_clip_folder() -> Path | None:
    """Where open_clip is installed, found without importing it (its import loads torch)."""
    found = importlib.util.find_spec("open_clip")
    locations = list(found.submodule_search_locations or []) if found else []
    return Path(locations[0]) if locations else None


def text_config(spec: ModelSpec) -> dict[str, object] | None:
    """The model's open_clip text configuration, read from its JSON file (None: not found)."""
    folder = _open_clip_folder()
    candidates = [Path(spec.config)] if spec.config else []
    if folder is not None:
        candidates.append(folder / "model_configs" / f"{spec.arch}.json")
    for path in candidates:
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        text = config.get("text_cfg")
        return text if isinstance(text, dict) else None
    return None


def tokenizer_for(spec: ModelSpec) -> ClipTokenizer | None:
    """Our tokenizer when it is the one the model was trained with; None: ask open_clip."""
    config = text_config(spec)
    folder = _open_clip_folder()
    if config is None or folder is None or not (folder / VOCAB_FILE).is_file():
        return None
    if config.get("hf_tokenizer_name") or config.get("tokenizer_kwargs"):
        return None  # another tokenizer, or non-default options
    context = config.get("context_length", DEFAULT_CONTEXT)
    return _tokenizer(folder / VOCAB_FILE, int(context) if isinstance(context, int) else DEFAULT_CONTEXT)


@lru_cache(maxsize=4)
def _tokenizer(vocab_file: Path, context_length: int) -> ClipTokenizer:
    return ClipTokenizer(vocab_file, context_length)


@lru_cache(maxsize=1)
def _byte_symbols() -> dict[int, str]:
    """Each byte as a printable character (BPE must not see whitespace or control bytes)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    symbols = dict(zip(printable, map(chr, printable), strict=True))
    extra = 0
    for byte in range(256):
        if byte not in symbols:
            symbols[byte] = chr(256 + extra)
            extra += 1
    return symbols


class ClipTokenizer:
    def __init__(self, vocab_file: Path, context_length: int = DEFAULT_CONTEXT) -> None:
        import regex

        with gzip.open(vocab_file) as packed:
            lines = packed.read().decode("utf-8").split("\n")[1 : MERGES + 1]
        merges = [tuple(line.split()) for line in lines]
        symbols = list(_byte_symbols().values())
        vocabulary = [*symbols, *(s + "</w>" for s in symbols), *("".join(m) for m in merges), *SPECIAL]
        self.ids = {token: i for i, token in enumerate(vocabulary)}
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.start, self.end = self.ids[SPECIAL[0]], self.ids[SPECIAL[1]]
        self.context_length = context_length
        self._words: dict[str, list[int]] = {}
        self._pattern = regex.compile(
            "|".join(SPECIAL) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", regex.IGNORECASE
        )

    def __call__(self, texts: list[str]) -> np.ndarray:
        """(N, context_length) int64 ids: start, the text's tokens, end, zeros."""
        out = np.zeros((len(texts), self.context_length), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self.start, *self.encode(text), self.end]
            if len(ids) > self.context_length:
                ids = ids[: self.context_length]
                ids[-1] = self.end
            out[row, : len(ids)] = ids
        return out

    def encode(self, text: str) -> list[int]:
        import ftfy

        cleaned = " ".join(html.unescape(html.unescape(ftfy.fix_text(text))).strip().split()).lower()
        ids: list[int] = []
        symbols = _byte_symbols()
        for piece in self._pattern.findall(cleaned):
            word = "".join(symbols[b] for b in piece.encode("utf-8"))
            if word not in self._words:
                self._words[word] = [self.ids[part] for part in self._merge(word)]
            ids.extend(self._words[word])
        return ids

    def _merge(self, word: str) -> list[str]:
        """Byte-pair merges, lowest rank first, until none applies."""
        if word in SPECIAL:
            return [word]
        parts = [*word[:-1], word[-1] + "</w>"]
        while len(parts) > 1:
            ranked = [(self.ranks.get(pair, len(self.ranks)), i) for i, pair in enumerate(itertools.pairwise(parts))]
            best, index = min(ranked)
            if best == len(self.ranks):
                break
            first, second = parts[index], parts[index + 1]
            merged: list[str] = []
            i = 0
            while i < len(parts):
                if i < len(parts) - 1 and parts[i] == first and parts[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return parts
