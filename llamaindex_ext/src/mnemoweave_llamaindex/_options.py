"""What the memory class and the memory block share: scope fields, binding, and rendering.

Both are pydantic models (LlamaIndex requires it); the store handle is not a field (it
cannot be schema'd or serialised), so each keeps a :class:`MemoryBinding` in a private
attribute built by :func:`bind` from the model's scope and recall fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.bridge.pydantic import BaseModel, Field
from llama_index.core.bridge.pydantic import ValidationError as PydanticValidationError
from llama_index.core.utils import get_tokenizer
from pydantic.json_schema import SkipJsonSchema

from mnemoweave import MemoryItem, ValidationError
from mnemoweave_adapters import (
    ASYNC_STORES,
    DEFAULT_RAW_POLICY,
    SYNC_STORES,
    MemoryBinding,
    RawPolicy,
    render_memories,
)

_SCOPE_KEYS = ("user_id", "agent_id", "run_id")
_TURN_ROLES = frozenset({"user", "assistant"})


class RecallOptions(BaseModel):
    """Scope and recall settings (mixed into both public classes as plain fields)."""

    user_id: str | None = Field(default=None, description="mnemoweave user scope.")
    agent_id: str | None = Field(default=None, description="mnemoweave agent scope.")
    run_id: str | None = Field(default=None, description="mnemoweave run scope.")
    recall_limit: int = Field(default=5, ge=1, description="Most memories recalled per query.")
    recall_token_budget: int = Field(
        default=1000, ge=1, description="Token budget of the rendered recall block."
    )
    threshold: float | None = Field(default=None, description="Minimum recall score.")
    infer: bool | None = Field(
        default=None, description="mnemoweave add(infer=...); None: extract facts if an LLM is set."
    )
    background: bool = Field(default=True, description="Remember in the background (see flush()).")
    remember_replies: bool = Field(
        default=False,
        description="Without fact extraction (no mnemoweave LLM, or infer=False), also store "
        "assistant replies verbatim as memories; by default only user messages are.",
    )
    metadata: dict[str, Any] | None = Field(
        default=None, description="Metadata attached to every memory written through this."
    )
    raw_policy: SkipJsonSchema[RawPolicy | None] = Field(
        default=None,
        exclude=True,
        description="What is stored verbatim without fact extraction (None: the kit's default "
        "RawPolicy, with assistant replies too when remember_replies is set).",
    )
    # Skipped in the JSON schema: a callable has none (LlamaIndex's own memories fail there).
    tokenizer_fn: SkipJsonSchema[Callable[[str], list[Any]]] = Field(
        default_factory=get_tokenizer,
        exclude=True,
        description="Token counter (LlamaIndex's tokenizer: tiktoken, bundled, offline).",
    )

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer_fn(text))

    def count_message(self, message: ChatMessage) -> int:
        return self.count_tokens(message.content or "")

    def render(self, items: list[MemoryItem], budget: int | None = None) -> str:
        """The kit's quoted recall block for ``items`` ("" when there is nothing to say)."""
        return render_memories(
            items,
            token_budget=self.recall_token_budget if budget is None else budget,
            count_tokens=self.count_tokens,
        )


def bind(options: RecallOptions, memory: Any) -> MemoryBinding:
    """A binding of ``memory`` to the scope and recall settings held in ``options``."""
    if memory is None:
        raise ValidationError(
            f"{type(options).__name__} needs a mnemoweave store: pass memory=Memory(...) "
            "(or use from_memory / from_defaults / from_config)"
        )
    if not isinstance(memory, SYNC_STORES + ASYNC_STORES):
        raise ValidationError(
            "memory must be a mnemoweave Memory or AsyncMemory (or a remote client), "
            f"got {type(memory).__name__}"
        )
    policy = options.raw_policy
    if policy is None and options.remember_replies:
        policy = dataclasses.replace(DEFAULT_RAW_POLICY, roles=_TURN_ROLES)
    return MemoryBinding(
        memory,
        raw_policy=policy,
        user_id=options.user_id,
        agent_id=options.agent_id,
        run_id=options.run_id,
        metadata=options.metadata,
        infer=options.infer,
        recall_limit=options.recall_limit,
        threshold=options.threshold,
    )


def scope_from(
    context: Mapping[str, Any] | None, ids: Mapping[str, str | None]
) -> dict[str, str | None]:
    """Scope ids from a mem0-style ``context`` dict merged with explicit keyword ids."""
    merged: dict[str, str | None] = {key: ids.get(key) for key in _SCOPE_KEYS}
    if context is None:
        return merged
    if not isinstance(context, Mapping):
        raise ValidationError(f"context must be a dict of scope ids, got {type(context)!r}")
    unknown = sorted(set(context) - set(_SCOPE_KEYS))
    if unknown:
        raise ValidationError(f"context takes only {list(_SCOPE_KEYS)}, got {unknown}")
    for key, value in context.items():
        if merged[key] is not None and value is not None and merged[key] != value:
            raise ValidationError(f"{key} given twice with different values")
        merged[key] = merged[key] if value is None else value
    return merged


def validated(init: Callable[..., None], data: dict[str, Any], owner: str) -> None:
    """Run a pydantic ``__init__``, turning its validation errors into mnemoweave's."""
    try:
        init(**data)
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ValidationError(f"invalid {owner} settings: {problems}") from None
