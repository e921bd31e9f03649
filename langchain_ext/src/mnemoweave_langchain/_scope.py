"""The scope of one agent run: the binding re-scoped by the ids in the run's ``context``.

The middleware and the memory tools both use :func:`run_binding`, so a tool call reads and
writes exactly the scope the middleware recalled from for that run. ``per_user=True`` marks
an agent that serves many users: a run whose context has no ``user_id`` is refused with
:class:`MissingUserError` instead of falling back to the binding's own user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnemoweave import ValidationError
from mnemoweave_adapters import MemoryBinding

SCOPE_KEYS = ("user_id", "agent_id", "run_id")


class MissingUserError(ValidationError):
    """A per-user agent ran without ``user_id`` in its context (nothing was read or written)."""


def context_ids(context: Any) -> dict[str, str]:
    """The non-blank ``user_id`` / ``agent_id`` / ``run_id`` of a run context (dict or object)."""
    if context is None:
        return {}
    ids = {}
    for key in SCOPE_KEYS:
        value = context.get(key) if isinstance(context, Mapping) else getattr(context, key, None)
        if isinstance(value, str) and value.strip():
            ids[key] = value
    return ids


def run_binding(binding: MemoryBinding, runtime: Any, *, per_user: bool) -> MemoryBinding:
    """``binding`` with the ids of ``runtime.context`` in place of its own.

    ``runtime`` is a LangGraph ``Runtime``, a ``ToolRuntime`` or ``None`` (a direct call).
    With ``per_user`` a missing ``user_id`` raises :class:`MissingUserError`.
    """
    ids = context_ids(getattr(runtime, "context", None))
    if per_user and "user_id" not in ids:
        raise MissingUserError(
            "this agent serves many users (per_user=True) but the run has no user_id in its "
            "context: invoke it with context={'user_id': ...}; memory was not read or written"
        )
    return binding.with_scope(**ids) if ids else binding
