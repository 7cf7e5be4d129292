"""File paths as SQLite text, losslessly.

On Linux a file name is bytes; Python hands a name that is not valid UTF-8 (a Latin-1 byte from
an old camera card, a zip made on Windows) over as a str with lone surrogates, which SQLite's
UTF-8 text cannot hold. Such characters are stored as an escape character followed by a
private-use code point, one for one, so the text stays valid UTF-8, converts back exactly, and
keeps the prefix order the catalog's range scans over folders rely on. A path that is valid
UTF-8 and holds no escape character (every ordinary path) is stored unchanged.
"""

from __future__ import annotations

ESCAPE = "\U0010fffd"  # a private-use noncharacter-adjacent code point: never typed by a person
_SURROGATES = range(0xD800, 0xE000)
_BASE = 0x100000  # surrogate U+D800+n is stored as ESCAPE + chr(_BASE + n), in plane 16's private use


def to_db(path: str) -> str:
    """The text to store for `path`."""
    if ESCAPE not in path and path.isascii():
        return path
    out: list[str] = []
    for char in path:
        code = ord(char)
        if code in _SURROGATES:
            out.append(ESCAPE + chr(_BASE + code - 0xD800))
        elif char == ESCAPE:
            out.append(ESCAPE + ESCAPE)
        else:
            out.append(char)
    return "".join(out)


def from_db(text: str) -> str:
    """The path that `to_db` stored as `text`."""
    if ESCAPE not in text:
        return text
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        if char != ESCAPE:
            out.append(char)
            continue
        following = next(chars, "")
        out.append(ESCAPE if following == ESCAPE else chr(ord(following) - _BASE + 0xD800))
    return "".join(out)
