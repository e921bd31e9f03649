"""Argument checks shared by ``Memory`` and ``AsyncMemory``: each failure names the argument."""

from __future__ import annotations

import math
import os
import sys
import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._filters import SCOPE_KEYS, scope_from_filters
from ._values import INT_MAX, clean, json_value, short_repr
from .errors import ConfigurationError, ValidationError

MEMORY_TYPES = ("procedural_memory",)


def scope_ids(
    user_id: Any, agent_id: Any, run_id: Any, *, filters: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The scope of a call: the given ids (plus plain top-level ids in ``filters``).

    At least one id is required: it is the tenant boundary every read and write stays inside.
    """
    scope: dict[str, str] = {}
    for key, value in zip(SCOPE_KEYS, (user_id, agent_id, run_id)):
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"{key} must be a non-empty string, got {value!r}")
        scope[key] = clean(value, key)
    for key, value in scope_from_filters(filters).items():
        clean(value, f"filters[{key!r}]")
        if key in scope and scope[key] != value:
            raise ValidationError(f"{key}={scope[key]!r} conflicts with {key}={value!r} in filters")
        scope[key] = value
    if not scope:
        raise ValidationError(
            "at least one of user_id, agent_id or run_id is required (it scopes the memories, "
            "and no call reads across users): e.g. get_all(user_id='alice'); to list who has "
            "memories, call scopes() or users() (on a server: an admin key)"
        )
    return scope


def text(value: Any, name: str, max_chars: int | None = None) -> str:
    """A non-empty string that can be stored, at most ``max_chars`` long."""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValidationError(f"{name} must not be empty")
    return bounded(clean(value, name), name, max_chars)


def bounded(value: str, name: str, max_chars: int | None) -> str:
    """``value`` unless it is longer than ``max_chars`` (the ``max_text_chars`` option)."""
    if max_chars is not None and len(value) > max_chars:
        raise ValidationError(
            f"{name} has {len(value):,} characters; the limit is {max_chars:,} "
            "(raise it with the max_text_chars option, or split the text)"
        )
    return value


def memory_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"memory_id must be a non-empty string, got {value!r}")
    return clean(value, "memory_id")


def positive_int(value: Any, name: str, *, maximum: int = 100_000) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ValidationError(f"{name} must be an int between 1 and {maximum}, got {value!r}")
    return value


def offset(value: Any) -> int:
    """A row offset; any offset past SQLite's range reads the same empty page as the last one."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"offset must be an int >= 0, got {value!r}")
    return min(int(value), INT_MAX)


def threshold(value: Any) -> float | None:
    """A score floor in [0, 1] (scores are in [0, 1]; NaN or 70 would silently match nothing)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationError(
            f"threshold must be a number between 0 and 1 or None, got {short_repr(value)}"
        )
    return float(value)


def timeout(value: Any, name: str = "timeout") -> float | None:
    """Seconds to wait: ``None`` (no limit) or a finite number >= 0."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value < math.inf
        or value > 1e9
    ):
        raise ValidationError(
            f"{name} must be None or a number of seconds from 0 to 1e9, got {short_repr(value)}"
        )
    return float(value)


def metadata(value: Any) -> dict[str, Any]:
    """A JSON dict with string keys, copied (so the caller's dict is untouched).

    Strings and keys must be storable (see :mod:`mnemoweave._values`); any key works in
    filters afterwards.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"metadata must be a dict, got {type(value).__name__}")
    out: dict[str, Any] = json_value(value, "metadata")
    return out


def categories(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationError("categories must be a list of strings")
    out = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(f"categories must be non-empty strings, got {item!r}")
        out.append(clean(item.strip(), "categories"))
    return sorted(set(out))


def optional_text(value: Any, name: str, max_chars: int | None = None) -> str | None:
    """``None``, or a string that can be stored (it may be empty)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string or None, got {type(value).__name__}")
    return bounded(clean(value, name), name, max_chars)


def data_path(value: Any) -> str | None:
    """The ``path`` argument of ``Memory``: ``None``, or a non-empty str / ``os.PathLike``."""
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"path must be a non-empty string or os.PathLike (a directory), got {value!r}"
        )
    if "\x00" in value:
        raise ConfigurationError(f"path {value!r} contains a NUL character")
    try:
        os.fsencode(Path(value))
    except UnicodeEncodeError:
        raise ConfigurationError(f"path {value!r} cannot be encoded for this file system") from None
    return value


def memory_type(value: Any, agent_id: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in MEMORY_TYPES:
        raise ValidationError(
            f"memory_type must be None or one of {list(MEMORY_TYPES)}, got {value!r}"
        )
    if not agent_id:
        raise ValidationError("memory_type='procedural_memory' requires agent_id")
    return str(value)


def flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False, got {value!r}")
    return value


def alias(value: Any, default: Any, other: Any, name: str, other_name: str) -> Any:
    """Resolve an argument that also goes by mem0's name (``top_k`` for ``limit``...)."""
    if other is None:
        return value
    try:
        differs = bool(value != default) and bool(value != other)
    except Exception:  # e.g. an array, whose comparison has no single truth value
        differs = True
    if differs:
        raise ValidationError(
            f"{name}={short_repr(value)} and {other_name}={short_repr(other)} disagree; pass one"
        )
    return other


def weight(value: Any, name: str = "keyword_weight") -> float:
    """A weight between 0 and 1 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationError(f"{name} must be between 0 and 1, got {value!r}")
    return float(value)


#: What ``delete_users`` answers (mem0's wording), on every facade and route.
ENTITY_DELETED = "Entity deleted successfully."


def entity_ids(user_id: Any, agent_id: Any, run_id: Any) -> dict[str, Any]:
    """The one entity ``delete_users`` erases; erasing every entity is ``reset()``."""
    ids = (("user_id", user_id), ("agent_id", agent_id), ("run_id", run_id))
    given = {k: v for k, v in ids if v is not None}
    if len(given) != 1:
        raise ValidationError(
            "delete_users takes exactly one of user_id, agent_id or run_id (the entity whose "
            f"memories it erases), got {sorted(given) or 'none'}; to erase every memory of the "
            "store, call reset()"
        )
    return given


#: mem0 platform arguments accepted for ported code and ignored: why, said once per process.
LEGACY = {
    "version": "mnemoweave has one API version (v2-style filters and contextual add are always on)",
    "output_format": "results always have the detailed v1.1 shape ({'results': [...]})",
}
_warned: set[str] = set()
_warned_lock = threading.Lock()


def legacy(options: dict[str, Any]) -> None:
    """Drop mem0's ``version`` / ``output_format`` from ``options``, with a one-time warning."""
    for name, why in LEGACY.items():
        value = options.pop(name, None)
        if value is None:
            continue
        with _warned_lock:
            first = name not in _warned
            _warned.add(name)
        if first:
            warnings.warn(
                f"{name}={value!r} is accepted for mem0 compatibility and ignored: {why}; "
                f"drop the argument",
                DeprecationWarning,
                stacklevel=_outside_level(),
            )


def _outside_level() -> int:
    """The ``stacklevel`` of the first frame outside mnemoweave (the caller's own line)."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("mnemoweave"):
        frame, level = frame.f_back, level + 1
    return level
