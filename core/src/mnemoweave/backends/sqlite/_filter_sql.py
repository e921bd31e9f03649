"""Compile mem0-style filter dicts into a parameterised SQL condition over the memories table.

Grammar (documented in the README): a dict is an implicit AND of its entries; ``AND`` / ``OR``
take a list of filters and ``NOT`` a filter (or list, negating their AND). A key names a column
(scope ids, ``categories``, timestamps, ``memory``...), ``metadata`` (a nested dict of metadata
keys), or otherwise a metadata key. A value is a scalar (equality), ``"*"`` (the field is set),
or a dict of operators: ``eq ne gt gte lt lte in nin contains icontains``.

Every compiled condition is two-valued (never SQL NULL), so ``NOT`` is an exact negation, and
``ne`` / ``nin`` are exactly ``NOT eq`` / ``NOT in``. Comparisons are typed: a string matches
only strings, a number only numbers (booleans count as 1 and 0, as in Python), a list or object
only an equal list or object (key order aside). ``None`` matches a stored null or an absent key;
``"*"`` matches any stored value, null included. Filters are bounded
(:data:`MAX_NESTING`, :data:`MAX_CONDITIONS`, :data:`MAX_VALUES`) and AND/OR chains compile to
balanced trees, so SQLite's expression-depth limit is never reached.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ..._filters import MAX_NESTING
from ..._time import to_epoch
from ..._values import INT_MAX, INT_MIN, as_float, json_value
from ..._values import clean as _clean
from ...errors import ValidationError

OPERATORS = ("contains", "eq", "gt", "gte", "icontains", "in", "lt", "lte", "ne", "nin")
LOGICAL = ("AND", "NOT", "OR")
#: How many field conditions one filter may hold (``{"k": 1}`` is one).
MAX_CONDITIONS = 1_000
#: How many values one filter may compare against in all (``in`` lists count each item).
MAX_VALUES = 20_000
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
_ORDER = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
# Booleans compare as the numbers 1 and 0, as in Python (and as SQLite's json_extract reads them).
_NUMBER = "('integer', 'real', 'true', 'false')"
_CONTAINER = "('array', 'object')"


def canonical_json(text: Any) -> str | None:
    """JSON text rewritten canonically (sorted keys, compact, bools and integral floats as ints).

    Registered in SQLite as ``mw_json`` so a stored list or object equals a filter value
    regardless of key order or spelling.
    """
    if text is None:
        return None
    try:
        return _canonical(json.loads(text))
    except (TypeError, ValueError):
        return None


def _canonical(value: Any) -> str:
    return json.dumps(_normal(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _normal(value: Any) -> Any:
    if isinstance(value, bool) or (isinstance(value, float) and value.is_integer()):
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    return value


class _Field:
    """How SQL reads one metadata key: its value, its JSON type ('' when absent), its items."""

    __slots__ = ("each", "kind", "value")

    def __init__(self, key: str) -> None:
        if any(ch in key for ch in '"\\') or any(ord(ch) < 0x20 for ch in key):
            # JSON escapes these characters, so a path label cannot name the key; json_each
            # hands out decoded keys.
            lit = "'" + key.replace("'", "''") + "'"
            self.value = f"(SELECT value FROM json_each(m.metadata) WHERE key = {lit})"
            self.kind = f"coalesce((SELECT type FROM json_each(m.metadata) WHERE key = {lit}), '')"
            self.each = f"json_each({self.value})"
        else:
            path = "'$.\"" + key.replace("'", "''") + "\"'"  # a SQL literal, so it can repeat
            self.value = f"json_extract(m.metadata, {path})"
            self.kind = f"coalesce(json_type(m.metadata, {path}), '')"
            self.each = f"json_each(m.metadata, {path})"


class _Compiler:
    """Compiles one filter dict; a subclass (the PostgreSQL backend's) swaps the SQL dialect."""

    #: The placeholder and the boolean literals of the SQL dialect.
    MARK = "?"
    TRUE = "1"
    FALSE = "0"
    #: The JSON items of the categories column.
    CATEGORIES = "json_each(m.categories)"

    def __init__(self) -> None:
        self.params: list[Any] = []
        self.conditions = 0

    def bind(self, value: Any) -> str:
        if len(self.params) >= MAX_VALUES:
            raise ValidationError(
                f"filters compare against more than {MAX_VALUES} values; split the query"
            )
        self.params.append(value)
        return self.MARK

    # -- structure -----------------------------------------------------------------------
    def node(self, flt: Any, where: str, depth: int) -> str:
        if not isinstance(flt, Mapping):
            raise ValidationError(f"filter at {where} must be a dict, got {type(flt).__name__}")
        if depth > MAX_NESTING:
            raise ValidationError(f"filters nest deeper than {MAX_NESTING} levels (at {where})")
        parts = [self.entry(key, value, f"{where}.{key}", depth) for key, value in flt.items()]
        return _join(parts, "AND") if parts else self.TRUE

    def entry(self, key: Any, value: Any, where: str, depth: int) -> str:
        if not isinstance(key, str):
            raise ValidationError(f"filter keys must be strings (at {where})")
        if key in ("AND", "OR"):
            items = self.filter_list(value, key, where)
            same = _one_key_equalities(value) if key == "OR" else None
            if same is not None:  # {"OR": [{"k": 1}, {"k": 2}, ...]} is {"k": {"in": [1, 2]}}
                return self.entry(same[0], {"in": same[1]}, where, depth)
            return _join([self.node(v, f"{where}[{i}]", depth + 1) for i, v in items], key)
        if key == "NOT":
            if isinstance(value, Sequence) and not isinstance(value, str | bytes):
                parts = [
                    self.node(v, f"{where}[{i}]", depth + 1)
                    for i, v in self.filter_list(value, key, where)
                ]
                return f"(NOT {_join(parts, 'AND')})"
            return f"(NOT {self.node(value, where, depth + 1)})"
        if key.upper() in LOGICAL:
            raise ValidationError(f"logical operator {key!r} must be upper case: {list(LOGICAL)}")
        if key == "metadata":
            if not isinstance(value, Mapping):
                raise ValidationError(
                    f"'metadata' filter at {where} must be a dict of metadata keys"
                )
            parts = [self.field("metadata", k, v, f"{where}.{k}") for k, v in value.items()]
            return _join(parts, "AND") if parts else self.TRUE
        if key in _TEXT_COLUMNS or key in _TIME_COLUMNS or key in ("categories", "immutable"):
            return self.field("column", key, value, where)
        return self.field("metadata", key, value, where)

    @staticmethod
    def filter_list(value: Any, key: str, where: str) -> list[tuple[int, Any]]:
        if not isinstance(value, Sequence) or isinstance(value, str | bytes) or not value:
            raise ValidationError(f"{key} at {where} takes a non-empty list of filters")
        return list(enumerate(value))

    # -- one field -----------------------------------------------------------------------
    def field(self, kind: str, key: Any, value: Any, where: str) -> str:
        if not isinstance(key, str):
            raise ValidationError(f"metadata keys in filters must be strings (at {where})")
        _clean(key, f"filter key at {where}")
        parts = []
        for op, arg in self.operators(value, where):
            self.conditions += 1
            if self.conditions > MAX_CONDITIONS:
                raise ValidationError(
                    f"filters hold more than {MAX_CONDITIONS} conditions; "
                    "use 'in' with a list of values instead of many equalities"
                )
            parts.append(self.condition(kind, key, op, arg, where))
        return _join(parts, "AND")

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
        if isinstance(value, str) and value == "*":
            return [("exists", None)]
        return [("eq", value)]

    def condition(self, kind: str, key: str, op: str, arg: Any, where: str) -> str:
        negate = op in ("ne", "nin")
        base = {"ne": "eq", "nin": "in"}.get(op, op)
        if kind == "metadata":
            sql = self.metadata_condition(self.metadata_field(key), base, arg, where)
        elif key == "categories":
            sql = self.list_condition(self.CATEGORIES, base, arg, where)
        elif key == "immutable":
            if base != "eq" or not isinstance(arg, bool):
                raise ValidationError(
                    f"'immutable' filter at {where} takes True/False (or eq/ne with them)"
                )
            sql = f"m.immutable = {int(arg)}"
        elif key in _TIME_COLUMNS:
            sql = self.column_condition(_TIME_COLUMNS[key], base, arg, where, time=True)
        else:
            sql = self.column_condition(_TEXT_COLUMNS[key], base, arg, where, time=False)
        return f"(NOT {sql})" if negate else sql

    @staticmethod
    def metadata_field(key: str) -> Any:
        """How this dialect reads the metadata key ``key``."""
        return _Field(key)

    # -- columns (text or epoch seconds, NULL when unset) --------------------------------
    def column_condition(self, col: str, op: str, arg: Any, where: str, *, time: bool) -> str:
        if op == "exists":
            return f"({col} IS NOT NULL)"

        def value(v: Any) -> Any:
            if time:
                return to_epoch(v, name=where)
            if not isinstance(v, str):
                raise ValidationError(f"filter at {where} compares a text field; pass a string")
            return _clean(v, f"filter value at {where}")

        if op == "eq":
            return f"({col} IS NULL)" if arg is None else f"({col} IS {self.bind(value(arg))})"
        if op == "in":
            values = self.as_list(arg, op, where)
            given = [v for v in values if v is not None]
            parts = [f"({col} IS NULL)"] if len(given) < len(values) else []
            if given:
                marks = ", ".join(self.bind(value(v)) for v in given)
                parts.append(f"({col} IS NOT NULL AND {col} IN ({marks}))")
            return _join(parts, "OR") if parts else "0"
        if op in ("contains", "icontains"):
            if time:
                raise ValidationError(f"{op!r} does not apply to timestamps (at {where})")
            needle = self.bind(value(self.text_arg(arg, op, where)))
            if op == "icontains":
                return f"({col} IS NOT NULL AND instr(mw_fold({col}), mw_fold({needle})) > 0)"
            return f"({col} IS NOT NULL AND instr({col}, {needle}) > 0)"
        if arg is None or isinstance(arg, bool):
            raise ValidationError(f"{op!r} at {where} takes a {'time' if time else 'string'}")
        return f"({col} IS NOT NULL AND {col} {_ORDER[op]} {self.bind(value(arg))})"

    # -- metadata keys (typed JSON values) -----------------------------------------------
    def metadata_condition(self, f: _Field, op: str, arg: Any, where: str) -> str:
        if op == "exists":
            return f"({f.kind} != '')"
        if op == "eq":
            return self.typed_eq(f.kind, f.value, arg, where)
        if op == "in":
            return self.typed_in(f.kind, f.value, self.as_list(arg, op, where), where)
        if op in ("contains", "icontains"):
            items = self.list_condition(f.each, op, arg, where)
            if isinstance(arg, str):
                needle = self.bind(_clean(arg, f"filter value at {where}"))
                text = (
                    f"instr(mw_fold({f.value}), mw_fold({needle})) > 0"
                    if op == "icontains"
                    else f"instr({f.value}, {needle}) > 0"
                )
            else:
                text = "0"
            # Parameters bind in text order: the array branch comes first in the SQL.
            return f"(CASE {f.kind} WHEN 'array' THEN {items} WHEN 'text' THEN {text} ELSE 0 END)"
        arg = _scalar(arg, where)
        if isinstance(arg, str):
            return f"({f.kind} = 'text' AND {f.value} {_ORDER[op]} {self.bind(arg)})"
        if isinstance(arg, int | float) and not isinstance(arg, bool):
            return f"({f.kind} IN {_NUMBER} AND {f.value} {_ORDER[op]} {self.bind(arg)})"
        raise ValidationError(f"{op!r} at {where} takes a number, a string or a datetime")

    def typed_eq(self, kind: str, value: str, arg: Any, where: str) -> str:
        """``value`` (of JSON type ``kind``) equals ``arg``, comparing like with like."""
        return self.typed_in(kind, value, [arg], where)

    def typed_in(self, kind: str, value: str, values: list[Any], where: str) -> str:
        """``value`` equals one of ``values`` (typed; two-valued even for an absent key).

        ``value`` is what json_extract reads: SQL NULL for null or absent, an integer for a
        boolean, the JSON text of a list or object. SQLite never equates a text with a number,
        so plain values need no type test; only a string that could be a list's or object's
        JSON text does, and lists and objects compare canonically.
        """
        nulls, plain, texts, containers = False, [], [], []
        for v in values:
            v = _scalar(v, where)
            if v is None:
                nulls = True
            elif isinstance(v, str) and v.startswith(("[", "{")):
                texts.append(v)
            elif isinstance(v, str | int | float):
                plain.append(_number(v) if not isinstance(v, str) else v)
            else:
                containers.append(_container(v))
        parts = [f"({kind} IN ('', 'null'))"] if nulls else []
        if len(plain) == 1:
            parts.append(f"({value} IS {self.bind(plain[0])})")
        elif plain:
            marks = ", ".join(self.bind(v) for v in plain)
            parts.append(f"coalesce({value} IN ({marks}), 0)")
        for test, expr, group in (
            ("= 'text'", value, texts),
            (f"IN {_CONTAINER}", f"mw_json({value})", containers),
        ):
            if group:
                marks = ", ".join(self.bind(v) for v in group)
                parts.append(f"({kind} {test} AND {expr} IN ({marks}))")
        return _join(parts, "OR") if parts else "0"

    def list_condition(self, each: str, op: str, arg: Any, where: str) -> str:
        """A condition on the items of a JSON list (categories, or a metadata array)."""
        if op == "exists":
            return f"EXISTS (SELECT 1 FROM {each})"
        if op in ("eq", "contains", "icontains"):
            if isinstance(arg, bool) or not isinstance(arg, str | int | float):
                raise ValidationError(f"{op!r} on a list field at {where} takes a string or number")
            if op == "icontains":
                needle = self.bind(_clean(self.text_arg(arg, op, where), f"filter at {where}"))
                return (
                    f"EXISTS (SELECT 1 FROM {each} WHERE type = 'text'"
                    f" AND mw_fold(value) = mw_fold({needle}))"
                )
            test = self.typed_eq("type", "value", arg, where)
            return f"EXISTS (SELECT 1 FROM {each} WHERE {test})"
        if op == "in":
            values = self.as_list(arg, op, where)
            if not values:
                return "0"
            test = self.typed_in("type", "value", values, where)
            return f"EXISTS (SELECT 1 FROM {each} WHERE {test})"
        raise ValidationError(f"{op!r} does not apply to a list field (at {where})")

    @staticmethod
    def text_arg(arg: Any, op: str, where: str) -> str:
        if not isinstance(arg, str):
            raise ValidationError(f"{op!r} at {where} takes a string")
        return arg

    @staticmethod
    def as_list(arg: Any, op: str, where: str) -> list[Any]:
        if isinstance(arg, str | bytes) or not isinstance(arg, Sequence | set | frozenset):
            raise ValidationError(f"{op!r} at {where} takes a list of values")
        return list(arg)


def _one_key_equalities(items: Sequence[Any]) -> tuple[str, list[Any]] | None:
    """``(key, values)`` when every item is ``{key: scalar}`` equality on the same field."""
    key: str | None = None
    values = []
    for item in items:
        if not isinstance(item, Mapping) or len(item) != 1:
            return None
        ((k, v),) = item.items()
        if (
            not isinstance(k, str)
            or k in LOGICAL
            or k in ("metadata", "immutable")
            or (key is not None and k != key)
            or isinstance(v, Mapping | list | tuple)
            or (isinstance(v, str) and v == "*")
        ):
            return None
        key = k
        values.append(v)
    return None if key is None else (key, values)


def _join(parts: list[str], op: str) -> str:
    """``parts`` joined by ``op`` as a balanced tree (depth log2(n), not n)."""
    if len(parts) == 1:
        return parts[0]
    middle = len(parts) // 2
    return f"({_join(parts[:middle], op)} {op} {_join(parts[middle:], op)})"


def _scalar(value: Any, where: str) -> Any:
    """A filter value ready to bind: strings clean, numbers finite, dates as ISO strings."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _clean(value, f"filter value at {where}")
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:  # SQLite reads such a stored int as a float
            return as_float(value, f"filter value at {where}")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"filter value at {where} must be finite, got {value!r}")
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple):
        return value
    raise ValidationError(f"filter value at {where} has unsupported type {type(value).__name__}")


def _number(value: int | float) -> int | float:
    return int(value) if isinstance(value, bool) else value


def _container(value: Any) -> str:
    return _canonical(json_value(value, "filter value"))


def compile_filters(filters: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` for ``filters`` (``("1", [])`` when there are none)."""
    if filters is None:
        return "1", []
    if not isinstance(filters, Mapping):
        raise ValidationError(f"filters must be a dict, got {type(filters).__name__}")
    compiler = _Compiler()
    sql = compiler.node(filters, "filters", 0)
    return sql, compiler.params
