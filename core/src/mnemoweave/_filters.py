"""Filter facts every backend shares: the scope keys, the nesting bound, scope ids in filters.

The grammar itself is documented in the README; each backend compiles it to its own query
language (``backends/sqlite/_filter_sql.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SCOPE_KEYS = ("user_id", "agent_id", "run_id")
#: How deeply AND / OR / NOT may nest.
MAX_NESTING = 32


def scope_from_filters(filters: Mapping[str, Any] | None) -> dict[str, str]:
    """Scope ids given as plain top-level equalities (directly or inside a top-level AND).

    Only these count as a scope: an id under OR or NOT could widen a search beyond one tenant.
    """
    found: dict[str, str] = {}
    if not isinstance(filters, Mapping):
        return found
    stack: list[tuple[Mapping[str, Any], int]] = [(filters, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            continue  # compile_filters rejects it
        for key, value in node.items():
            if key in SCOPE_KEYS:
                if isinstance(value, Mapping) and set(value) == {"eq"}:
                    value = value["eq"]
                if isinstance(value, str) and value and value != "*":
                    found.setdefault(key, value)
            elif key == "AND" and isinstance(value, Sequence) and not isinstance(value, str):
                stack.extend((v, depth + 1) for v in value if isinstance(v, Mapping))
    return found
