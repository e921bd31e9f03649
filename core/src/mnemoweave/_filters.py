"""Compile mem0-style filter dicts into a parameterised SQL condition over the memories table.

Grammar (documented in the README): a dict is an implicit AND of its entries; ``AND`` / ``OR``
take a list of filters and ``NOT`` a filter (or list, negating their AND). A key names a column
(scope ids, ``categories``, timestamps, ``memory``...), ``metadata`` (a nested dict of metadata
keys), or otherwise a metadata key. A value is a scalar (equality), ``"*"`` (the field is set),
or a dict of operators: ``eq ne gt gte lt lte in nin contains icontains``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ._time import to_epoch
from .errors import ValidationError

OPERATORS = ("contains", "eq", "gt", "gte", "icontains", "in", "lt", "lte", "ne", "nin")
LOGICAL = ("AND", "NOT", "OR")
SCOPE_KEYS = ("user_id", "agent_id", "run_id")

_TEXT_COLUMNS = {
    "user_id": "m.user_id",
    "agent_id": "m.agent_id",
    "run_id": "m.run_id",
    "actor_id": "m.actor_id",
    "role": "m.role",
    "memory_type": "m.memory_type",
    "hash": "m.hash",
    "id": "m.id",
    "memory_id": "m.id",
    "memory": "m.memory",
}
_TIME_COLUMNS = {
    "created_at": "m.created_at",
    "updated_at": "m.updated_at",
    "valid_from": "m.valid_from",
    "valid_to": "m.valid_to",
    "recorded_at": "m.recorded_at",
    "expired_at": "m.expired_at",
    "expiration_date": "m.expires_at",
}
_COMPARE = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class _Compiler:
    def __init__(self) -> None:
        self.params: list[Any] = []

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    # -- structure -----------------------------------------------------------------------
    def node(self, flt: Any, where: str) -> str:
        if not isinstance(flt, Mapping):
            raise ValidationError(f"filter at {where} must be a dict, got {type(flt).__name__}")
        parts = [self.entry(key, value, f"{where}.{key}") for key, value in flt.items()]
        return "(" + " AND ".join(parts) + ")" if parts else "1"

    def entry(self, key: Any, value: Any, where: str) -> str:
        if not isinstance(key, str) or not key:
            raise ValidationError(f"filter keys must be non-empty strings (at {where})")
        if key in ("AND", "OR"):
            if not isinstance(value, Sequence) or isinstance(value, str | bytes) or not value:
                raise ValidationError(f"{key} at {where} takes a non-empty list of filters")
            joiner = f" {key} "
            return (
                "(" + joiner.join(self.node(v, f"{where}[{i}]") for i, v in enumerate(value)) + ")"
            )
        if key == "NOT":
            if isinstance(value, Sequence) and not isinstance(value, str | bytes):
                if not value:
                    raise ValidationError(f"NOT at {where} takes a filter or a non-empty list")
                inner = " AND ".join(self.node(v, f"{where}[{i}]") for i, v in enumerate(value))
            else:
                inner = self.node(value, where)
            return f"(NOT ({inner}))"
        if key.upper() in LOGICAL:
            raise ValidationError(f"logical operator {key!r} must be upper case: {list(LOGICAL)}")
        if key == "metadata":
            if not isinstance(value, Mapping):
                raise ValidationError(
                    f"'metadata' filter at {where} must be a dict of metadata keys"
                )
            if not value:
                return "1"
            return (
                "("
                + " AND ".join(
                    self.field("metadata", k, v, f"{where}.{k}") for k, v in value.items()
                )
                + ")"
            )
        if key in _TEXT_COLUMNS or key in _TIME_COLUMNS or key in ("categories", "immutable"):
            return self.field("column", key, value, where)
        return self.field("metadata", key, value, where)

    # -- one field -----------------------------------------------------------------------
    def field(self, kind: str, key: str, value: Any, where: str) -> str:
        conditions = self.operators(value, where)
        return " AND ".join(self.condition(kind, key, op, arg, where) for op, arg in conditions)

    @staticmethod
    def operators(value: Any, where: str) -> list[tuple[str, Any]]:
        if isinstance(value, Mapping):
            if not value:
                raise ValidationError(f"empty operator dict at {where}")
            unknown = [op for op in value if op not in OPERATORS]
            if unknown:
                raise ValidationError(
                    f"unknown filter operator {unknown[0]!r} at {where}; allowed: {list(OPERATORS)}"
                )
            return list(value.items())
        if value == "*":
            return [("exists", None)]
        return [("eq", value)]

    def condition(self, kind: str, key: str, op: str, arg: Any, where: str) -> str:
        if kind == "metadata":
            if '"' in key or "\\" in key:
                raise ValidationError(f"metadata key {key!r} may not contain quotes or backslashes")
            path = "'$.\"" + key.replace("'", "''") + "\"'"  # a SQL literal, so it can repeat
            return self.metadata_condition(path, op, arg, where)
        if key == "categories":
            return self.list_condition("m.categories", "'$'", op, arg, where)
        if key == "immutable":
            if op not in ("eq", "ne", "exists") or not isinstance(arg, bool | None):
                raise ValidationError(f"'immutable' filter at {where} takes eq/ne with True/False")
            return (
                "1" if op == "exists" else f"m.immutable {_COMPARE[op]} {self.bind(int(bool(arg)))}"
            )
        if key in _TIME_COLUMNS:
            return self.time_condition(_TIME_COLUMNS[key], op, arg, where)
        return self.scalar_condition(_TEXT_COLUMNS[key], op, arg, where, text_only=True)

    def time_condition(self, column: str, op: str, arg: Any, where: str) -> str:
        if op == "exists":
            return f"{column} IS NOT NULL"
        if op in ("contains", "icontains"):
            raise ValidationError(f"{op!r} does not apply to timestamps (at {where})")
        if op in ("in", "nin"):
            values = [to_epoch(v, name=where) for v in self.as_list(arg, op, where)]
            return self.membership(column, op, values)
        return f"{column} {_COMPARE[op]} {self.bind(to_epoch(arg, name=where))}"

    def scalar_condition(
        self, expr: str, op: str, arg: Any, where: str, *, text_only: bool = False
    ) -> str:
        if op == "exists":
            return f"{expr} IS NOT NULL"
        if op in ("in", "nin"):
            values = [self.sql_value(v, where, text_only) for v in self.as_list(arg, op, where)]
            return self.membership(expr, op, values)
        if op in ("contains", "icontains"):
            if not isinstance(arg, str):
                raise ValidationError(f"{op!r} at {where} takes a string")
            if op == "icontains":
                return f"instr(mw_fold({expr}), mw_fold({self.bind(arg)})) > 0"
            return f"instr({expr}, {self.bind(arg)}) > 0"
        value = self.sql_value(arg, where, text_only)
        if op == "ne":
            return f"({expr} IS NULL OR {expr} != {self.bind(value)})"
        if op in ("gt", "gte", "lt", "lte") and isinstance(arg, bool):
            raise ValidationError(f"{op!r} at {where} does not take a boolean")
        return f"{expr} {_COMPARE[op]} {self.bind(value)}"

    def metadata_condition(self, path: str, op: str, arg: Any, where: str) -> str:
        expr = f"json_extract(m.metadata, {path})"
        if op in ("contains", "icontains"):
            # Parameters bind in text order: the array branch comes first in the SQL.
            array_part = self.list_condition("m.metadata", path, op, arg, where)
            text_part = self.scalar_condition(expr, op, arg, where)
            return (
                f"(CASE WHEN json_type(m.metadata, {path}) = 'array' THEN {array_part}"
                f" ELSE {text_part} END)"
            )
        return self.scalar_condition(expr, op, arg, where)

    def list_condition(self, column: str, path: str, op: str, arg: Any, where: str) -> str:
        each = f"json_each({column}, {path})"
        if op == "exists":
            return f"EXISTS (SELECT 1 FROM {each})"
        if op in ("eq", "contains", "icontains", "ne"):
            if not isinstance(arg, str | int | float) or isinstance(arg, bool):
                raise ValidationError(f"{op!r} on a list field at {where} takes a string or number")
            if op == "icontains":
                if not isinstance(arg, str):
                    raise ValidationError(f"'icontains' at {where} takes a string")
                test = f"mw_fold(value) = mw_fold({self.bind(arg)})"
            else:
                test = f"value = {self.bind(arg)}"
            found = f"EXISTS (SELECT 1 FROM {each} WHERE {test})"
            return f"NOT {found}" if op == "ne" else found
        if op in ("in", "nin"):
            values = [self.sql_value(v, where) for v in self.as_list(arg, op, where)]
            if not values:
                return "0" if op == "in" else "1"
            marks = ", ".join(self.bind(v) for v in values)
            found = f"EXISTS (SELECT 1 FROM {each} WHERE value IN ({marks}))"
            return f"NOT {found}" if op == "nin" else found
        raise ValidationError(f"{op!r} does not apply to a list field (at {where})")

    def membership(self, expr: str, op: str, values: list[Any]) -> str:
        if not values:
            return "0" if op == "in" else "1"
        marks = ", ".join(self.bind(v) for v in values)
        if op == "in":
            return f"{expr} IN ({marks})"
        return f"({expr} IS NULL OR {expr} NOT IN ({marks}))"

    @staticmethod
    def as_list(arg: Any, op: str, where: str) -> list[Any]:
        if isinstance(arg, str | bytes) or not isinstance(arg, Sequence | set | frozenset):
            raise ValidationError(f"{op!r} at {where} takes a list of values")
        return list(arg)

    @staticmethod
    def sql_value(value: Any, where: str, text_only: bool = False) -> Any:
        if text_only and not isinstance(value, str):
            raise ValidationError(f"filter at {where} compares a text field; pass a string")
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str | int | float) or value is None:
            return value
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, Mapping | list | tuple):
            return json.dumps(value, separators=(",", ":"), sort_keys=True)
        raise ValidationError(
            f"filter value at {where} has unsupported type {type(value).__name__}"
        )


def compile_filters(filters: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` for ``filters`` (``("1", [])`` when there are none)."""
    if filters is None:
        return "1", []
    if not isinstance(filters, Mapping):
        raise ValidationError(f"filters must be a dict, got {type(filters).__name__}")
    compiler = _Compiler()
    sql = compiler.node(filters, "filters")
    return sql, compiler.params


def scope_from_filters(filters: Mapping[str, Any] | None) -> dict[str, str]:
    """Scope ids given as plain top-level equalities (directly or inside a top-level AND).

    Only these count as a scope: an id under OR or NOT could widen a search beyond one tenant.
    """
    found: dict[str, str] = {}
    if not isinstance(filters, Mapping):
        return found
    stack: list[Mapping[str, Any]] = [filters]
    while stack:
        node = stack.pop()
        for key, value in node.items():
            if key in SCOPE_KEYS:
                if isinstance(value, Mapping) and set(value) == {"eq"}:
                    value = value["eq"]
                if isinstance(value, str) and value and value != "*":
                    found.setdefault(key, value)
            elif key == "AND" and isinstance(value, Sequence) and not isinstance(value, str):
                stack.extend(v for v in value if isinstance(v, Mapping))
    return found
