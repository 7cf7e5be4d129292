"""Combined queries: text and images, weighted, with negative terms.

    dog on a beach                 one text term
    beach -people                  "beach" minus "people"
    "2:sunset" + ./photo.jpg       sunset (weight 2) plus a photo's look
    red car -"parking lot"         a quoted negative phrase

Plain words run together into one phrase; `+` or a quoted string starts a new term; a leading
`-` makes a term negative; `W:` in front of a term sets its weight; a term naming an existing
image file is an image term. Terms are embedded, scaled by their weights, summed and normalised.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from photosearch.errors import UsageError, UserError

from .images import is_media_path

NEGATIVE_WEIGHT = -0.5  # a negative term pulls away without cancelling the whole query
MAX_WEIGHT = 100.0  # beyond this one term drowns every other (and huge ones overflow float32)
_WEIGHT = re.compile(r"^(-?\d+(?:\.\d+)?):(.+)$", re.S)


class QueryError(UserError, ValueError):
    """A query that cannot be searched; the message says why."""


class QuerySyntaxError(QueryError, UsageError):
    """A query written so that it cannot mean anything (empty, only negative, a weight out of range)."""


@dataclass(frozen=True)
class Term:
    kind: Literal["text", "image"]
    value: str
    weight: float = 1.0


def _make_term(token: str, weight: float | None, base: Path) -> Term:
    negative = token.startswith("-") and len(token) > 1
    if negative:
        token = token[1:]
    match = _WEIGHT.match(token)
    if match and weight is None:
        weight, token = float(match.group(1)), match.group(2)
        if not abs(weight) <= MAX_WEIGHT:
            raise QuerySyntaxError(f"term weight {match.group(1)[:20]} is out of range: use -{MAX_WEIGHT:g} to {MAX_WEIGHT:g}")
    if weight is None:
        weight = NEGATIVE_WEIGHT if negative else 1.0
    elif negative:
        weight = -abs(weight)
    candidate = Path(token).expanduser()
    if not candidate.is_absolute():
        candidate = base / candidate
    if is_media_path(candidate) and candidate.is_file():
        return Term("image", str(candidate.resolve()), weight)
    return Term("text", token.strip(), weight)


def parse_query(text: str, base: Path | None = None) -> list[Term]:
    """Split a query string into weighted terms (see the module docstring)."""
    base = base or Path.cwd()
    lexer = shlex.shlex(text, posix=True, punctuation_chars="+")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote: treat the text literally
        tokens = text.replace('"', " ").replace("'", " ").split()
    quoted = _quoted_spans(text)
    terms: list[Term] = []
    phrase: list[str] = []

    def flush() -> None:
        if phrase:
            terms.append(_make_term(" ".join(phrase), None, base))
            phrase.clear()

    for token in tokens:
        if token == "+":
            flush()
        elif _stands_alone(token, quoted, base):
            flush()
            terms.append(_make_term(token, None, base))
        else:
            phrase.append(token)
    flush()
    terms = [t for t in terms if t.value]
    if not terms:
        raise QuerySyntaxError("the query is empty")
    if all(t.weight <= 0 for t in terms):
        raise QuerySyntaxError("the query has only negative terms: say what to look for too")
    return terms


def _stands_alone(token: str, quoted: set[str], base: Path) -> bool:
    """A negative, quoted, weighted or file token is a term of its own, not part of a phrase."""
    negative = token.startswith("-") and len(token) > 1
    return negative or token in quoted or bool(_WEIGHT.match(token)) or _looks_like_file(token, base)


def _quoted_spans(text: str) -> set[str]:
    return {m.group(2) for m in re.finditer(r"(['\"])(.*?)\1", text)}


def _looks_like_file(token: str, base: Path) -> bool:
    path = Path(token).expanduser()
    if not path.is_absolute():
        path = base / path
    return is_media_path(path) and path.is_file()
