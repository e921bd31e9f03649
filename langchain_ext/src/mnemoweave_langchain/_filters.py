"""LangGraph store filters (``{"field": value}``, ``{"field": {"$gt": 3}}``) over item values.

Conditions mnemoweave can evaluate exactly in SQL -- a top-level field equal to a string, a
boolean or a finite 64-bit-safe number, or compared with a number -- are pushed into the
mnemoweave filter (the value's fields live in metadata); the rest (nested dicts, lists,
``None``, dotted paths) are checked in Python on the stored value. Both give the same answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from mnemoweave import ValidationError

from ._namespaces import VALUE

OPERATORS = {"$eq": "eq", "$ne": "ne", "$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
_ORDERING = ("$gt", "$gte", "$lt", "$lte")
_INT_LIMIT = 2**63 - 1  # SQLite integers are 64-bit

Predicate = Callable[[Mapping[str, Any]], bool]


def split_filter(flt: Mapping[str, Any] | None) -> tuple[list[dict[str, Any]], Predicate | None]:
    """``(mnemoweave conditions to AND, residual predicate or None)`` for a LangGraph filter."""
    if flt is None:
        return [], None
    if not isinstance(flt, Mapping):
        raise ValidationError(f"filter must be a dict of field conditions, got {flt!r}")
    pushed: list[dict[str, Any]] = []
    residual: dict[str, Any] = {}
    for field, condition in flt.items():
        if not isinstance(field, str) or not field:
            raise ValidationError(f"filter fields must be non-empty strings, got {field!r}")
        _check(field, condition)
        sql = _pushable(field, condition)
        if sql is None:
            residual[field] = condition
        else:
            pushed.extend(sql)
    if not residual:
        return pushed, None
    return pushed, lambda value: all(_matches(_lookup(value, f), c) for f, c in residual.items())


def matches(value: Mapping[str, Any], flt: Mapping[str, Any]) -> bool:
    """Whether ``value`` passes the whole LangGraph ``filter`` (the Python path only)."""
    return all(_matches(_lookup(value, f), c) for f, c in flt.items())


def _check(field: str, condition: Any) -> None:
    if isinstance(condition, Mapping) and any(_is_op(k) for k in condition):
        unknown = [k for k in condition if k not in OPERATORS]
        if unknown:
            raise ValidationError(
                f"filter on {field!r}: unsupported operator {unknown[0]!r}; "
                f"use one of {sorted(OPERATORS)}"
            )


def _is_op(key: Any) -> bool:
    return isinstance(key, str) and key.startswith("$")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _sql_safe(value: Any) -> bool:
    """Whether SQL equality on ``value`` agrees with Python's ``==`` on JSON values."""
    if isinstance(value, bool):
        return True
    if isinstance(value, str):
        # json_extract renders objects as such text; NUL cannot be stored, so never matches
        return not value.startswith(("{", "[")) and "\x00" not in value
    if isinstance(value, int):
        return -_INT_LIMIT <= value <= _INT_LIMIT
    return isinstance(value, float) and math.isfinite(value)


def _pushable(field: str, condition: Any) -> list[dict[str, Any]] | None:
    """mnemoweave conditions for ``field``, or ``None`` when Python must decide."""
    if "." in field or '"' in field or "\\" in field:
        return None  # dotted paths are nested lookups; quotes cannot be metadata filter keys
    key = VALUE + field
    if not isinstance(condition, Mapping):
        return [{key: condition}] if _sql_safe(condition) else None
    if not condition or not all(_is_op(op) for op in condition):
        return None
    out = []
    for op, arg in condition.items():
        if not _sql_safe(arg) or (op in _ORDERING and not _number(arg)):
            return None
        # mnemoweave compares typed (a number only matches numbers and booleans), as Python does.
        out.append({key: {OPERATORS[op]: arg}})
    return out


def _lookup(value: Mapping[str, Any], field: str) -> Any:
    """A field's value: the literal key first, else a dotted path into nested dicts."""
    if field in value:
        return value[field]
    current: Any = value
    for part in field.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def _matches(actual: Any, condition: Any) -> bool:
    if isinstance(condition, Mapping):
        if condition and all(_is_op(k) for k in condition):
            return all(_compare(actual, op, arg) for op, arg in condition.items())
        if not isinstance(actual, Mapping):
            return False
        return all(_matches(actual.get(k), c) for k, c in condition.items())
    if isinstance(condition, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(condition)
            and all(_matches(a, c) for a, c in zip(actual, condition))
        )
    return bool(actual == condition)


def _compare(actual: Any, op: str, arg: Any) -> bool:
    if op == "$eq":
        return _matches(actual, arg)
    if op == "$ne":
        return not _matches(actual, arg)
    # Numbers (booleans count as 0/1, as in SQL) compare with numbers, strings with strings.
    numbers = isinstance(actual, int | float) and _number(arg)
    if not numbers and not (isinstance(actual, str) and isinstance(arg, str)):
        return False
    if op == "$gt":
        return bool(actual > arg)
    if op == "$gte":
        return bool(actual >= arg)
    if op == "$lt":
        return bool(actual < arg)
    return bool(actual <= arg)
