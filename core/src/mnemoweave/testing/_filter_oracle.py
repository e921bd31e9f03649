"""A brute-force, pure-Python reading of mnemoweave's filter grammar, for contract tests.

It evaluates a mem0-style filter dict against one returned :class:`~mnemoweave.MemoryItem`
exactly as the grammar is documented (``mnemoweave._filters``, README "Filters"), without
SQL, so a backend's compiled filters can be compared with it row by row. It assumes the
filter is valid (the facade refuses the others before any backend sees them).
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from mnemoweave import MemoryItem

TEXT_COLUMNS = {
    "user_id": "user_id",
    "agent_id": "agent_id",
    "run_id": "run_id",
    "actor_id": "actor_id",
    "role": "role",
    "memory_type": "memory_type",
    "hash": "hash",
    "id": "id",
    "memory_id": "id",
    "memory": "memory",
}
TIME_COLUMNS = (
    "created_at",
    "updated_at",
    "valid_from",
    "valid_to",
    "recorded_at",
    "expired_at",
    "expiration_date",
)
_ORDER = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}
_ABSENT = object()


def matches(flt: Mapping[str, Any], item: MemoryItem) -> bool:
    """Whether ``item`` satisfies ``flt`` (a dict is the AND of its entries)."""
    return all(_entry(key, value, item) for key, value in flt.items())


def _entry(key: str, value: Any, item: MemoryItem) -> bool:
    if key == "AND":
        return all(matches(v, item) for v in value)
    if key == "OR":
        return any(matches(v, item) for v in value)
    if key == "NOT":
        if isinstance(value, Sequence):
            return not all(matches(v, item) for v in value)
        return not matches(value, item)
    if key == "metadata":
        return all(_field("metadata", k, v, item) for k, v in value.items())
    if key in TEXT_COLUMNS or key in TIME_COLUMNS or key in ("categories", "immutable"):
        return _field("column", key, value, item)
    return _field("metadata", key, value, item)


def _field(kind: str, key: str, value: Any, item: MemoryItem) -> bool:
    if isinstance(value, Mapping):
        ops = list(value.items())
    elif value == "*":
        ops = [("exists", None)]
    else:
        ops = [("eq", value)]
    return all(_condition(kind, key, op, arg, item) for op, arg in ops)


def _condition(kind: str, key: str, op: str, arg: Any, item: MemoryItem) -> bool:
    if op in ("ne", "nin"):
        return not _condition(kind, key, {"ne": "eq", "nin": "in"}[op], arg, item)
    if kind == "metadata":
        return _metadata(item.metadata.get(key, _ABSENT), op, arg)
    if key == "categories":
        return _list(item.categories, op, arg)
    if key == "immutable":
        return bool(item.immutable) == bool(arg)
    if key in TIME_COLUMNS:
        stamp = getattr(item, key)
        return _column(None if stamp is None else stamp.timestamp(), op, arg, time=True)
    return _column(getattr(item, TEXT_COLUMNS[key]), op, arg, time=False)


# -- columns: a text or an instant, None when unset -----------------------------------------
def _column(stored: Any, op: str, arg: Any, *, time: bool) -> bool:
    def norm(v: Any) -> Any:
        return epoch(v) if time else v

    if op == "exists":
        return stored is not None
    if op == "eq":
        return stored is None if arg is None else stored is not None and stored == norm(arg)
    if op == "in":
        return any(
            stored is None if v is None else stored is not None and stored == norm(v) for v in arg
        )
    if op == "contains":
        return stored is not None and arg in stored
    if op == "icontains":
        return stored is not None and arg.casefold() in stored.casefold()
    return stored is not None and bool(_ORDER[op](stored, norm(arg)))


def epoch(value: Any) -> float:
    """Epoch seconds of a number, an ISO-8601 string (``Z`` allowed) or a datetime."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
        value = datetime.fromisoformat(text)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    raise TypeError(f"not an instant: {value!r}")


# -- typed JSON values ------------------------------------------------------------------------
def _is_number(v: Any) -> bool:
    return isinstance(v, int | float)  # bool included: True and False are 1 and 0


def _is_container(v: Any) -> bool:
    return isinstance(v, list | dict)


def _canonical(v: Any) -> str:
    def normal(x: Any) -> Any:
        if isinstance(x, bool) or (isinstance(x, float) and x.is_integer()):
            return int(x)
        if isinstance(x, dict):
            return {str(k): normal(y) for k, y in x.items()}
        if isinstance(x, list | tuple):
            return [normal(y) for y in x]
        return x

    return json.dumps(normal(v), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def same(stored: Any, arg: Any) -> bool:
    """Typed equality of a stored JSON value (or ``_ABSENT``) with a non-None filter value.

    A string equals only a string, a number only a number (booleans are 1 and 0), a list or
    object only an equal list or object, key order aside.
    """
    if stored is _ABSENT or stored is None:
        return False
    if isinstance(arg, str):
        return isinstance(stored, str) and stored == arg
    if _is_number(arg):
        return _is_number(stored) and float(stored) == float(arg)
    if _is_container(arg) or isinstance(arg, tuple):
        return _is_container(stored) and _canonical(stored) == _canonical(arg)
    return False


def _eq(stored: Any, arg: Any) -> bool:
    """Equality where ``None`` matches a stored null and an absent key."""
    if arg is None:
        return stored is _ABSENT or stored is None
    return same(stored, arg)


def _metadata(stored: Any, op: str, arg: Any) -> bool:
    if op == "exists":
        return stored is not _ABSENT
    if op == "eq":
        return _eq(stored, arg)
    if op == "in":
        return any(_eq(stored, v) for v in arg)
    if op in ("contains", "icontains"):
        if isinstance(stored, list):
            return _list(stored, op, arg)
        if isinstance(stored, str) and isinstance(arg, str):
            if op == "icontains":
                return arg.casefold() in stored.casefold()
            return arg in stored
        return False
    if isinstance(arg, str):
        return isinstance(stored, str) and bool(_ORDER[op](stored, arg))
    return (
        stored is not _ABSENT and _is_number(stored) and bool(_ORDER[op](float(stored), float(arg)))
    )


def _list(items: Sequence[Any], op: str, arg: Any) -> bool:
    """A condition on a list's items: categories, or a metadata array."""
    if op == "exists":
        return len(items) > 0
    if op in ("eq", "contains"):
        return any(same(v, arg) for v in items)
    if op == "icontains":
        return any(isinstance(v, str) and v.casefold() == arg.casefold() for v in items)
    if op == "in":
        return any(_eq(v, a) for v in items for a in arg)
    raise ValueError(f"{op!r} does not apply to a list")
