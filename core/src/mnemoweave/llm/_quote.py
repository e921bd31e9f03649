"""Quoting data for a prompt: JSON text that stays on one line and hides no characters.

``json.dumps`` escapes ASCII control characters but leaves U+0085, U+2028, U+2029 and
invisible format characters (bidi overrides, zero-width spaces, tag characters) raw, and
``str.splitlines`` and many tokenizers treat several of them as line breaks. A value quoted
here is still plain JSON (``json.loads`` gives it back exactly) but holds none of them raw, so
no text inside it can start a new line or hide text from a reader.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from typing import Any

__all__ = ["quote_json"]

# Control, format, surrogate and line/paragraph separator characters are written as escapes.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Zero-width (non-)joiners are format characters that scripts and emoji sequences need.
_JOINERS = frozenset({"\u200c", "\u200d"})
# ASCII punctuation JSON uses outside strings (letters and digits too: true, 1e5, NaN).
_JSON_PUNCTUATION = frozenset('"\\{}[]:,.+- \t\n\r')


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # outside the BMP: a UTF-16 surrogate pair, as JSON spells it
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


@functools.lru_cache(maxsize=8)
def _pattern(also: str) -> re.Pattern[str]:
    # Printable ASCII is always safe (unless listed in ``also``); everything else gets a look.
    extra = "".join(re.escape(c) for c in sorted(set(also)) if c.isascii())
    return re.compile(f"[^\\x20-\\x7e]|[{extra}]" if extra else "[^\\x20-\\x7e]")


def quote_json(value: Any, *, also: str = "") -> str:
    """``value`` as one line of JSON with hidden characters (and those in ``also``) escaped.

    Strings keep their language (no ``\\uXXXX`` for ordinary letters); control and format
    characters, line and paragraph separators and lone surrogates become ``\\uXXXX``
    escapes, as does every character in ``also`` (which a caller uses for the characters
    of its own delimiters). ``json.loads`` of the result equals ``value``.
    """
    chosen = frozenset(also)
    clash = sorted(c for c in chosen if c.isascii() and (c.isalnum() or c in _JSON_PUNCTUATION))
    if clash:
        raise ValueError(f"quote_json cannot escape characters JSON itself uses: {clash}")
    text = json.dumps(value, ensure_ascii=False)

    def replace(match: re.Match[str]) -> str:
        char = match.group()
        if char in chosen:
            return _escape(char)
        if char in _JOINERS or unicodedata.category(char) not in _HIDDEN_CATEGORIES:
            return char
        return _escape(char)

    return _pattern(also).sub(replace, text)
