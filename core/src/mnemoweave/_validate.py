"""Argument checks shared by ``Memory`` and ``AsyncMemory``: each failure names the argument."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._filters import SCOPE_KEYS, scope_from_filters
from .errors import ValidationError

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
        scope[key] = value
    for key, value in scope_from_filters(filters).items():
        if key in scope and scope[key] != value:
            raise ValidationError(f"{key}={scope[key]!r} conflicts with {key}={value!r} in filters")
        scope[key] = value
    if not scope:
        raise ValidationError(
            "at least one of user_id, agent_id or run_id is required (it scopes the memories)"
        )
    return scope


def text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValidationError(f"{name} must not be empty")
    return value


def memory_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"memory_id must be a non-empty string, got {value!r}")
    return value


def positive_int(value: Any, name: str, *, maximum: int = 100_000) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ValidationError(f"{name} must be an int between 1 and {maximum}, got {value!r}")
    return value


def non_negative_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{name} must be an int >= 0, got {value!r}")
    return value


def threshold(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"threshold must be a number or None, got {value!r}")
    return float(value)


def metadata(value: Any) -> dict[str, Any]:
    """A JSON-serialisable dict with string keys (copied, so the caller's dict is untouched)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"metadata must be a dict, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise ValidationError(f"metadata keys must be strings, got {key!r}")
    try:
        return json.loads(json.dumps(dict(value), ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata must be JSON-serialisable: {exc}") from exc


def categories(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationError("categories must be a list of strings")
    out = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(f"categories must be non-empty strings, got {item!r}")
        out.append(item.strip())
    return sorted(set(out))


def memory_type(value: Any, agent_id: str | None) -> str | None:
    if value is None:
        return None
    if value not in MEMORY_TYPES:
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
    if value != default and value != other:
        raise ValidationError(f"{name}={value!r} and {other_name}={other!r} disagree; pass one")
    return other
