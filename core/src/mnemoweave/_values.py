"""What a stored string or JSON value may hold, checked once for every way in.

SQLite (and PostgreSQL after it) cannot hold a lone surrogate, and cut text at a NUL inside
JSON, so such strings are rejected up front instead of failing, or never matching, later.
JSON values are bounded in depth, so no caller can make mnemoweave recurse without end.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .errors import ValidationError

#: How deeply metadata (and a filter's list or object value) may nest.
MAX_JSON_DEPTH = 64
#: The range of a SQLite integer; larger ints are read (and compared) as floating point.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def clean(text: str, name: str) -> str:
    """``text`` if it can be stored and compared: no NUL (U+0000), no lone surrogate."""
    if "\x00" in text:
        raise ValidationError(f"{name} contains a NUL character (U+0000), which cannot be stored")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{name} contains a lone surrogate (U+{ord(text[exc.start]):04X} at position "
            f"{exc.start}), which is not valid Unicode text"
        ) from None
    return text


def json_value(value: Any, name: str, depth: int = 0) -> Any:
    """A plain copy of a JSON value (dicts, lists, strings, finite numbers, bools, None).

    Keys and strings pass :func:`clean`; numbers are finite (an int too large for a float would
    read back as infinity); nesting stops at :data:`MAX_JSON_DEPTH` (which also catches a
    structure that contains itself).
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return clean(str(value), name)
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            as_float(value, name)
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{name}: numbers must be finite, got {value!r}")
        return float(value)
    if depth >= MAX_JSON_DEPTH:
        raise ValidationError(f"{name} nests deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"{name}: keys must be strings, got {short_repr(key)}")
            out[clean(str(key), f"{name} key {key[:40]!r}")] = json_value(
                item, f"{name}[{key[:40]!r}]", depth + 1
            )
        return out
    if isinstance(value, list | tuple):
        return [json_value(item, f"{name}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise ValidationError(
        f"{name} must be JSON-serialisable (dict, list, str, number, bool, None), "
        f"not {type(value).__name__}"
    )


def as_float(value: int, name: str) -> float:
    """A big int as the float SQLite reads it as, if it is finite."""
    try:
        return float(value)
    except OverflowError:
        raise ValidationError(
            f"{name}: {short_repr(value)} is too large a number (beyond about 1.8e308)"
        ) from None


def short_repr(value: Any) -> str:
    """``repr(value)``, cut in the middle when long (for error messages)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:20] + "..." + text[-8:]
