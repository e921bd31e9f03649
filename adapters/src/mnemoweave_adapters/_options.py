"""Options every adapter accepts: the ``store`` argument, the token budget, message roles.

``bind_store`` turns a path, a store or a binding into a binding and is the one place that
decides whether the adapter opened the store itself (and so must close it) or borrowed it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

import mnemoweave
from mnemoweave.errors import ConfigurationError, ValidationError
from mnemoweave.llm.memory_block import check_token_budget as check_token_budget

from ._binding import ASYNC_STORES, SYNC_STORES, AsyncStore, MemoryBinding, SyncStore
from ._policy import RawPolicy

ROLES = frozenset({"user", "assistant", "system", "tool"})

StoreLike = SyncStore | AsyncStore | MemoryBinding | str | os.PathLike[str] | None
"""A store directory (``None``: the default home), an open store or memory-server client
(``mnemoweave.remote.MemoryClient``), or a ``MemoryBinding``."""


@dataclass(frozen=True)
class BoundStore:
    """A binding plus whether the adapter opened its store (and therefore closes it)."""

    binding: MemoryBinding
    owned: bool


def bind_store(
    store: StoreLike,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    infer: bool | None = None,
    recall_limit: int | None = None,
    threshold: float | None = None,
    raw_policy: RawPolicy | None = None,
    embedder: Any = None,
    llm: Any = None,
    options: Mapping[str, Any] | None = None,
) -> BoundStore:
    """Bind ``store`` to a scope, opening a ``mnemoweave.Memory`` when given a path or ``None``.

    A ready ``MemoryBinding`` already carries its scope and recall options, so passing them
    again is an error rather than a silent override; ``embedder``/``llm``/``options`` only
    make sense when the store is opened here.
    """
    binding_options: dict[str, Any] = {
        "user_id": user_id,
        "agent_id": agent_id,
        "run_id": run_id,
        "metadata": metadata,
        "infer": infer,
        "recall_limit": recall_limit,
        "threshold": threshold,
        "raw_policy": raw_policy,
    }
    open_options = {"embedder": embedder, "llm": llm, "options": options}
    if isinstance(store, MemoryBinding):
        given = sorted(k for k, v in {**binding_options, **open_options}.items() if v is not None)
        if given:
            raise ValidationError(
                f"{given} cannot be combined with a MemoryBinding (it has its own scope and "
                "options); pass a Memory or a path instead, or use binding.with_scope(...)"
            )
        return BoundStore(store, owned=False)
    kwargs = {k: v for k, v in binding_options.items() if v is not None}
    if isinstance(store, SYNC_STORES + ASYNC_STORES):
        given = sorted(k for k, v in open_options.items() if v is not None)
        if given:
            raise ValidationError(
                f"{given} only apply when the adapter opens the store from a path; "
                "configure them on the Memory you pass instead"
            )
        return BoundStore(MemoryBinding(store, **kwargs), owned=False)
    if store is not None and not isinstance(store, str | os.PathLike):
        raise ValidationError(
            "store must be a mnemoweave Memory, AsyncMemory, MemoryClient, AsyncMemoryClient, "
            f"MemoryBinding, a directory path or None, got {type(store).__name__}"
        )
    # Validate the scope before creating a directory on disk for a store that cannot be used.
    if not any(kwargs.get(k) for k in ("user_id", "agent_id", "run_id")):
        raise ValidationError("pass at least one of user_id, agent_id, run_id")
    opened = mnemoweave.Memory(
        None if store is None else os.fspath(store),
        embedder=embedder,
        llm=llm,
        **dict(options or {}),
    )
    try:
        binding = MemoryBinding(opened, **kwargs)
    except BaseException:
        opened.close()
        raise
    return BoundStore(binding, owned=True)


def check_roles(roles: Iterable[str], *, what: str, allow_empty: bool) -> frozenset[str]:
    """The chosen message roles as a set, each one of :data:`ROLES`."""
    chosen = frozenset([roles] if isinstance(roles, str) else roles)
    if not chosen <= ROLES or (not chosen and not allow_empty):
        kind = "a subset" if allow_empty else "a non-empty subset"
        raise ValidationError(f"{what} must be {kind} of {sorted(ROLES)}, got {roles!r}")
    return chosen


#: Config keys never serialised by an adapter (they are read from the environment again).
_SECRET_KEYS = frozenset({"api_key", "azure_ad_token", "password", "token"})


def setting_spec(kind: str, value: Any) -> str | dict[str, Any] | None:
    """A store's embedder/llm setting as JSON-able config, without secrets.

    Used where an adapter serialises itself (AutoGen components, LlamaIndex ``to_dict``);
    an object that has no config form is a ``ConfigurationError``.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Mapping):
        return _without_secrets(value)
    raise ConfigurationError(
        f"cannot serialise an adapter whose store was given a {kind} object "
        f"({type(value).__name__}); configure the {kind} with a name or a config dict"
    )


def _without_secrets(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_secrets(v) for k, v in value.items() if k not in _SECRET_KEYS}
    if isinstance(value, list | tuple):
        return [_without_secrets(v) for v in value]
    return value
