"""The filter grammar of :mod:`..sqlite._filter_sql`, compiled to PostgreSQL over ``jsonb``.

Validation, bounds, the AND/OR balancing and the typed, two-valued semantics are the SQLite
compiler's (this is a subclass that only swaps the SQL it emits): a string matches only JSON
strings, a number only JSON numbers or booleans (as 1 and 0), a list or object an equal
``jsonb`` value; ``None`` matches a stored null or an absent key. Text order is the code-point
order (``COLLATE "C"``), as in SQLite. ``icontains`` folds case with ``lower()`` (SQLite uses
Python's ``casefold``; they differ for a few letters such as ``ß``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..._time import to_epoch
from ..._values import clean
from ...errors import ValidationError
from ..sqlite._filter_sql import _ORDER, _Compiler, _container, _number, _scalar
from ..sqlite._filter_sql import _join as join

__all__ = ["compile_filters"]

_META = "(m.metadata::jsonb)"


def literal(text: str) -> str:
    """``text`` as a SQL string literal that psycopg's placeholder parser leaves alone."""
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


def _number_of(j: str) -> str:
    """A JSON number or boolean (1, 0) as float8, NULL for anything else."""
    return (
        f"(CASE jsonb_typeof({j}) WHEN 'number' THEN ({j})::float8"
        f" WHEN 'boolean' THEN (CASE WHEN ({j})::boolean THEN 1.0 ELSE 0.0 END)::float8 END)"
    )


def _text_of(j: str) -> str:
    return f"({j} #>> '{{}}')"


def _safe(sql: str) -> str:
    """Two-valued: SQL NULL (an absent key) counts as false."""
    return f"coalesce({sql}, FALSE)"


class _PgCompiler(_Compiler):
    MARK = "%s"
    TRUE = "TRUE"
    FALSE = "FALSE"
    CATEGORIES = "(m.categories::jsonb)"

    @staticmethod
    def metadata_field(key: str) -> Any:
        return f"({_META} -> {literal(key)})"

    def column_condition(self, col: str, op: str, arg: Any, where: str, *, time: bool) -> str:
        if op in ("eq", "in", "exists"):
            sql = super().column_condition(col, op, arg, where, time=time)
            if sql == "0":
                return "FALSE"
            return sql.replace(f"{col} IS %s", f"{col} IS NOT DISTINCT FROM %s")
        text = "" if time else ' COLLATE "C"'
        if op in ("contains", "icontains"):
            if time:
                raise ValidationError(f"{op!r} does not apply to timestamps (at {where})")
            needle = self.bind(clean(self.text_arg(arg, op, where), f"filter value at {where}"))
            if op == "icontains":
                return f"({col} IS NOT NULL AND strpos(lower({col}), lower({needle})) > 0)"
            return f"({col} IS NOT NULL AND strpos({col}, {needle}) > 0)"
        if arg is None or isinstance(arg, bool):
            raise ValidationError(f"{op!r} at {where} takes a {'time' if time else 'string'}")
        if time:
            value: Any = to_epoch(arg, name=where)
        else:
            if not isinstance(arg, str):
                raise ValidationError(f"filter at {where} compares a text field; pass a string")
            value = clean(arg, f"filter value at {where}")
        return f"({col} IS NOT NULL AND {col}{text} {_ORDER[op]} {self.bind(value)})"

    def metadata_condition(self, f: Any, op: str, arg: Any, where: str) -> str:
        j = str(f)
        if op == "exists":
            return f"({j} IS NOT NULL)"
        if op == "eq":
            return self.typed_in("", j, [arg], where)
        if op == "in":
            return self.typed_in("", j, self.as_list(arg, op, where), where)
        if op in ("contains", "icontains"):
            items = self.list_condition(j, op, arg, where)
            if isinstance(arg, str):
                needle = self.bind(clean(arg, f"filter value at {where}"))
                text = (
                    f"strpos(lower({_text_of(j)}), lower({needle})) > 0"
                    if op == "icontains"
                    else f"strpos({_text_of(j)}, {needle}) > 0"
                )
            else:
                text = "FALSE"
            return _safe(
                f"(CASE jsonb_typeof({j}) WHEN 'array' THEN {items}"
                f" WHEN 'string' THEN {text} ELSE FALSE END)"
            )
        arg = _scalar(arg, where)
        if isinstance(arg, str):
            return _safe(
                f"(jsonb_typeof({j}) = 'string' AND {_text_of(j)} COLLATE \"C\""
                f" {_ORDER[op]} {self.bind(arg)})"
            )
        if isinstance(arg, int | float) and not isinstance(arg, bool):
            return _safe(f"({_number_of(j)} {_ORDER[op]} {self.bind(float(arg))}::float8)")
        raise ValidationError(f"{op!r} at {where} takes a number, a string or a datetime")

    def typed_in(self, kind: str, value: str, values: list[Any], where: str) -> str:
        """``value`` (a jsonb expression, NULL when absent) equals one of ``values``, typed."""
        j = value
        nulls, texts, numbers, containers = False, [], [], []
        for v in values:
            v = _scalar(v, where)
            if v is None:
                nulls = True
            elif isinstance(v, str):
                texts.append(v)
            elif isinstance(v, int | float):
                numbers.append(float(_number(v)))
            else:
                containers.append(_container(v))
        parts = [f"({j} IS NULL OR jsonb_typeof({j}) = 'null')"] if nulls else []
        if texts:
            marks = ", ".join(self.bind(v) for v in texts)
            parts.append(_safe(f"(jsonb_typeof({j}) = 'string' AND {_text_of(j)} IN ({marks}))"))
        if numbers:
            marks = ", ".join(f"{self.bind(v)}::float8" for v in numbers)
            parts.append(_safe(f"({_number_of(j)} IN ({marks}))"))
        if containers:
            marks = ", ".join(f"{self.bind(v)}::jsonb" for v in containers)
            parts.append(_safe(f"(jsonb_typeof({j}) IN ('array', 'object') AND {j} IN ({marks}))"))
        return join(parts, "OR") if parts else "FALSE"

    def list_condition(self, each: str, op: str, arg: Any, where: str) -> str:
        """A condition on the items of a JSON list: ``each`` is the list's jsonb expression."""
        items = (
            f"jsonb_array_elements(CASE WHEN jsonb_typeof({each}) = 'array'"
            f" THEN {each} ELSE '[]'::jsonb END) AS e(value)"
        )
        if op == "exists":
            return f"EXISTS (SELECT 1 FROM {items})"
        if op in ("eq", "contains", "icontains"):
            if isinstance(arg, bool) or not isinstance(arg, str | int | float):
                raise ValidationError(f"{op!r} on a list field at {where} takes a string or number")
            if op == "icontains":
                needle = self.bind(clean(self.text_arg(arg, op, where), f"filter at {where}"))
                return (
                    f"EXISTS (SELECT 1 FROM {items} WHERE jsonb_typeof(e.value) = 'string'"
                    f" AND lower(e.value #>> '{{}}') = lower({needle}))"
                )
            test = self.typed_in("", "e.value", [arg], where)
            return f"EXISTS (SELECT 1 FROM {items} WHERE {test})"
        if op == "in":
            values = self.as_list(arg, op, where)
            if not values:
                return "FALSE"
            test = self.typed_in("", "e.value", values, where)
            return f"EXISTS (SELECT 1 FROM {items} WHERE {test})"
        raise ValidationError(f"{op!r} does not apply to a list field (at {where})")


def compile_filters(filters: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """``(sql, params)`` for ``filters`` over alias ``m`` (``("TRUE", [])`` when none)."""
    if filters is None:
        return "TRUE", []
    if not isinstance(filters, Mapping):
        raise ValidationError(f"filters must be a dict, got {type(filters).__name__}")
    compiler = _PgCompiler()
    return compiler.node(filters, "filters", 0), compiler.params
