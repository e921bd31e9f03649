"""mnemoweave as an AutoGen AgentChat memory (``autogen-agentchat`` / ``autogen-core`` 0.7).

``AssistantAgent(memory=[MnemoweaveMemory(...)])`` calls :meth:`MnemoweaveMemory.update_context`
before each inference: the memories relevant to the last user message are injected as one
``SystemMessage`` holding the kit's quoted ``<mnemoweave-memories>`` block. AgentChat never
calls ``add`` on its own, so remembering a conversation is the application's step:
``await memory.remember_messages(result)`` with the ``TaskResult`` of a run.

Install with ``pip install "mnemoweave-adapters[autogen]"``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from autogen_agentchat.base import TaskResult
from autogen_agentchat.messages import BaseAgentEvent, BaseChatMessage, MultiModalMessage
from autogen_core import CancellationToken, Component, Image
from autogen_core.memory import (
    Memory,
    MemoryContent,
    MemoryMimeType,
    MemoryQueryResult,
    UpdateContextResult,
)
from autogen_core.model_context import ChatCompletionContext
from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)
from pydantic import BaseModel, ConfigDict, Field

from mnemoweave import MemoryItem
from mnemoweave.errors import ValidationError

from ._binding import MemoryBinding
from ._messages import last_user_text, to_message
from ._options import StoreLike, bind_store, check_roles, check_token_budget, setting_spec
from ._policy import DEFAULT_RAW_POLICY, RawPolicy
from ._render import CLOSE_TAG, OPEN_TAG, render_memories, unquote_block
from ._sync import run_async

__all__ = ["MnemoweaveMemory", "MnemoweaveMemoryConfig"]

#: Where a memory's AutoGen MIME type is kept (only for types other than text/plain).
MIME_KEY = "autogen_mime_type"
_RESERVED_KEYS = frozenset({MIME_KEY})
_MIME_TYPES = {m.value: m for m in MemoryMimeType}


class MnemoweaveMemoryConfig(BaseModel):
    """What ``dump_component()`` records for a :class:`MnemoweaveMemory` (JSON-serialisable).

    The store is reopened from ``path`` (``None``: ``$MNEMOWEAVE_HOME`` or ``~/.mnemoweave``)
    with ``embedder``, ``llm`` and the other store ``options``. Secrets such as an LLM
    ``api_key`` are never recorded: a loaded component reads them from the environment.
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    path: str | None = None
    embedder: str | dict[str, Any] | None = None
    llm: str | dict[str, Any] | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    infer: bool | None = None
    recall_limit: int = Field(default=5, ge=1)
    threshold: float | None = None
    token_budget: int | None = Field(default=1000, ge=1)
    background: bool = False
    user_sources: list[str] = Field(default_factory=lambda: ["user"])
    #: ``RawPolicy`` fields (``roles`` as a list); ``None``: the kit's default policy.
    raw_policy: dict[str, Any] | None = None


class MnemoweaveMemory(Memory, Component[MnemoweaveMemoryConfig]):
    """An AgentChat ``Memory`` backed by a mnemoweave store bound to one scope.

    ``store`` is a directory path (``None``: ``$MNEMOWEAVE_HOME`` or ``~/.mnemoweave``), a
    ``mnemoweave.Memory`` / ``AsyncMemory``, or a ``MemoryBinding`` (which brings its own scope).
    A store opened from a path is closed by :meth:`close`; a store passed in stays open.

    ``token_budget`` caps the injected block; ``background=True`` makes
    :meth:`remember_messages` return before the memory is written (``flush()`` waits);
    ``user_sources`` names the AgentChat message sources that count as the user;
    ``raw_policy`` picks what :meth:`remember_messages` stores verbatim without an LLM.
    """

    component_type = "memory"
    component_config_schema = MnemoweaveMemoryConfig
    component_provider_override = "mnemoweave_adapters.autogen.MnemoweaveMemory"
    component_description: ClassVar[str | None] = "Long-term memory in a local mnemoweave store."

    def __init__(
        self,
        store: StoreLike = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        infer: bool | None = None,
        recall_limit: int | None = None,
        threshold: float | None = None,
        token_budget: int | None = 1000,
        background: bool = False,
        user_sources: Iterable[str] = ("user",),
        raw_policy: RawPolicy | None = None,
        embedder: Any = None,
        llm: Any = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        token_budget = check_token_budget(token_budget)
        sources = [user_sources] if isinstance(user_sources, str) else list(user_sources)
        if not sources or not all(isinstance(s, str) and s for s in sources):
            raise ValidationError(f"user_sources must be non-empty strings, got {user_sources!r}")
        bound = bind_store(
            store,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            metadata=metadata,
            infer=infer,
            recall_limit=recall_limit,
            threshold=threshold,
            raw_policy=raw_policy,
            embedder=embedder,
            llm=llm,
            options=options,
        )
        self._binding = bound.binding
        self._owns_store = bound.owned
        self._name = name or "mnemoweave"
        self._token_budget = token_budget
        self._background = bool(background)
        self._user_sources = frozenset(sources)
        self._closed = False

    # -- identity ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def binding(self) -> MemoryBinding:
        """The scope-bound store every call goes through."""
        return self._binding

    def __repr__(self) -> str:
        return f"MnemoweaveMemory(name={self._name!r}, {self._binding!r})"

    # -- the AgentChat Memory interface ------------------------------------------------------
    async def update_context(self, model_context: ChatCompletionContext) -> UpdateContextResult:
        """Inject the memories relevant to the last user message as one ``SystemMessage``.

        A block injected on an earlier turn is removed first, so the context holds at most
        one (the freshest) memory block however long the conversation runs.
        """
        self._check_open()
        messages = await model_context.get_messages()
        query = last_user_text(m for m in map(_llm_message, messages) if m is not None)
        items = await self._binding.arecall(query) if query else []
        block = render_memories(items, token_budget=self._token_budget)
        await _drop_stale_blocks(model_context)
        if not block:
            return UpdateContextResult(memories=MemoryQueryResult(results=[]))
        await model_context.add_message(SystemMessage(content=block))
        shown = set(unquote_block(block))
        kept = [_content(item) for item in items if item.memory in shown]
        return UpdateContextResult(memories=MemoryQueryResult(results=kept))

    async def query(
        self,
        query: str | MemoryContent,
        cancellation_token: CancellationToken | None = None,
        **kwargs: Any,
    ) -> MemoryQueryResult:
        """The scope's memories most relevant to ``query``, best first.

        Extra keyword arguments: ``limit`` (default: the recall limit) and ``filters``
        (mnemoweave filter dict on metadata, categories and timestamps).
        """
        self._check_open()
        unknown = sorted(set(kwargs) - {"limit", "filters"})
        if unknown:
            raise ValidationError(f"query() accepts limit= and filters=, not {unknown}")
        text = query.content if isinstance(query, MemoryContent) else query
        if isinstance(text, Mapping | list):
            text = json.dumps(text, ensure_ascii=False, sort_keys=True, default=str)
        if not isinstance(text, str):
            raise ValidationError(f"query must be text, got {type(text).__name__}")
        items = await self._binding.arecall(
            text, limit=kwargs.get("limit"), filters=kwargs.get("filters")
        )
        return MemoryQueryResult(results=[_content(item) for item in items])

    async def add(
        self, content: MemoryContent | str, cancellation_token: CancellationToken | None = None
    ) -> None:
        """Remember one item: text (any text MIME type), a ``{role, content}`` dict, or JSON.

        ``content.metadata`` is stored as the memory's metadata and comes back flat in
        ``query`` results. JSON content (a dict or list) is stored as its JSON text, so it is
        searchable, and comes back parsed with its MIME type; so do other text MIME types
        (markdown...). Images and bytes are refused: mnemoweave remembers text. This is an
        explicit save, so the raw-storage policy does not filter it.
        """
        self._check_open()
        payload: str | dict[str, Any]
        if isinstance(content, MemoryContent):
            payload, mime = _payload(content)
            metadata = dict(content.metadata or {})
            reserved = sorted(_RESERVED_KEYS.intersection(metadata))
            if reserved:
                raise ValidationError(f"metadata keys {reserved} are reserved by MnemoweaveMemory")
            if mime is not None:
                metadata[MIME_KEY] = mime
        elif isinstance(content, str):
            payload, metadata = content, {}
        else:
            raise ValidationError(
                f"add() takes a MemoryContent or str, got {type(content).__name__}"
            )
        if not (payload.strip() if isinstance(payload, str) else payload.get("content")):
            raise ValidationError("add() got empty content: nothing to remember")
        await self._write(payload, metadata or None)

    async def clear(self) -> None:
        """Erase every memory of this scope (other users' memories are untouched)."""
        self._check_open()
        await self._binding.aforget_all()

    async def close(self) -> None:
        """Finish pending writes; close the store when this memory opened it from a path."""
        if self._closed:
            return
        self._closed = True
        await run_async(self._binding.flush)
        if self._owns_store:
            await run_async(self._binding.memory.close)

    # -- remembering conversations ---------------------------------------------------------
    async def remember_messages(
        self,
        messages: TaskResult | Sequence[Any],
        *,
        roles: Iterable[str] = ("user", "assistant"),
        metadata: Mapping[str, Any] | None = None,
    ) -> Any:
        """Remember a run's conversation: a ``TaskResult`` or a list of messages.

        AgentChat chat messages count as the user when their ``source`` is one of
        ``user_sources`` and as the assistant otherwise; agent events (tool calls, memory
        queries, thoughts) are skipped, and so are injected memory blocks. ``LLMMessage``
        objects, ``{role, content}`` dicts and strings work too. Without fact extraction the
        kit's raw-storage policy picks what is stored verbatim (see ``RawPolicy``); the rest
        only reaches the message window. Returns the ``AddResult`` of the add (a handle when
        ``background=True``; ``None`` when nothing was stored).
        """
        self._check_open()
        keep = check_roles(roles, what="roles", allow_empty=False)
        items = messages.messages if isinstance(messages, TaskResult) else messages
        if isinstance(items, str | bytes) or not isinstance(items, Sequence):
            raise ValidationError(
                "remember_messages() takes a TaskResult or a list of messages, "
                f"got {type(messages).__name__}"
            )
        found = (self._as_message(obj) for obj in items)
        turn = [m for m in found if m is not None and m["role"] in keep]
        if not turn:
            return None
        return await self._write(turn, metadata, turn=True)

    def flush(self) -> None:
        """Wait for background writes to reach the store."""
        self._binding.flush()

    # -- component config -------------------------------------------------------------------
    def _to_config(self) -> MnemoweaveMemoryConfig:
        store = self._binding.memory.config
        options = store.model_dump(exclude_defaults=True, exclude={"path", "embedder", "llm"})
        return MnemoweaveMemoryConfig(
            name=self._name,
            path=store.path,
            embedder=setting_spec("embedder", store.embedder),
            llm=setting_spec("llm", store.llm),
            options=options,
            user_id=self._binding.user_id,
            agent_id=self._binding.agent_id,
            run_id=self._binding.run_id,
            metadata=self._binding.metadata,
            infer=self._binding.infer,
            recall_limit=self._binding.recall_limit,
            threshold=self._binding.threshold,
            token_budget=self._token_budget,
            background=self._background,
            user_sources=sorted(self._user_sources),
            raw_policy=_policy_fields(self._binding.raw_policy),
        )

    @classmethod
    def _from_config(cls, config: MnemoweaveMemoryConfig) -> MnemoweaveMemory:
        return cls(
            config.path,
            user_id=config.user_id,
            agent_id=config.agent_id,
            run_id=config.run_id,
            name=config.name,
            metadata=config.metadata,
            infer=config.infer,
            recall_limit=config.recall_limit,
            threshold=config.threshold,
            token_budget=config.token_budget,
            background=config.background,
            user_sources=config.user_sources,
            raw_policy=RawPolicy(**config.raw_policy) if config.raw_policy else None,
            embedder=config.embedder,
            llm=config.llm,
            options=config.options,
        )

    # -- internals --------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise ValidationError(f"{self!r} is closed")

    async def _write(
        self, payload: Any, metadata: Mapping[str, Any] | None, *, turn: bool = False
    ) -> Any:
        binding = self._binding
        if turn:
            # The store's thread pool for background adds, not an event-loop task: it
            # survives the loop ending (asyncio.run) and flush() can wait for it.
            if self._background:
                done = binding.remember_turn(payload, background=True, metadata=metadata)
            else:
                done = await binding.aremember_turn(payload, metadata=metadata)
            return done[-1] if done else None
        if self._background:
            return binding.remember(payload, background=True, metadata=metadata)
        return await binding.aremember(payload, metadata=metadata)

    def _as_message(self, obj: Any) -> dict[str, Any] | None:
        if isinstance(obj, BaseAgentEvent):
            return None
        if isinstance(obj, BaseChatMessage):
            role = "user" if obj.source in self._user_sources else "assistant"
            # A MultiModalMessage keeps its images: the kit turns each into an image part.
            content = list(obj.content) if isinstance(obj, MultiModalMessage) else None
            return to_message(
                {"role": role, "content": content or obj.to_model_text(), "name": obj.source}
            )
        if isinstance(obj, SystemMessage) and _is_block(obj.content):
            return None
        return _llm_message(obj) if isinstance(obj, _LLM_TYPES) else to_message(obj)


_LLM_TYPES = (SystemMessage, UserMessage, AssistantMessage, FunctionExecutionResultMessage)


def _llm_message(msg: LLMMessage) -> dict[str, Any] | None:
    """An autogen-core ``LLMMessage`` as a ``{role, content[, name]}`` dict (``None``: no text).

    A ``UserMessage`` whose content holds ``Image`` objects keeps them as image parts.
    """
    if isinstance(msg, SystemMessage):
        return to_message({"role": "system", "content": msg.content})
    if isinstance(msg, UserMessage):
        return to_message({"role": "user", "content": msg.content, "name": msg.source})
    if isinstance(msg, AssistantMessage):
        if not isinstance(msg.content, str):
            return None  # a tool-call request carries no conversational text
        return to_message({"role": "assistant", "content": msg.content, "name": msg.source})
    if isinstance(msg, FunctionExecutionResultMessage):
        return to_message({"role": "tool", "content": [r.content for r in msg.content]})
    return None


def _is_block(text: Any) -> bool:
    return isinstance(text, str) and text.startswith(OPEN_TAG) and text.endswith(CLOSE_TAG)


async def _drop_stale_blocks(model_context: ChatCompletionContext) -> None:
    """Remove memory blocks an earlier ``update_context`` left in the context."""
    state = await model_context.save_state()
    messages = list(state.get("messages", []))
    kept = [
        m for m in messages if not (m.get("type") == "SystemMessage" and _is_block(m["content"]))
    ]
    if len(kept) != len(messages):
        await model_context.load_state({**state, "messages": kept})


def _content(item: MemoryItem) -> MemoryContent:
    """A recalled memory as AgentChat ``MemoryContent``.

    Metadata is flat, as AutoGen's own memories return it: the caller's keys plus mnemoweave's
    ``id``, ``score``, ``created_at`` and ``categories`` (which win over caller keys of those
    names). JSON memories come back parsed, with their MIME type.
    """
    stored = dict(item.metadata or {})
    mime = stored.pop(MIME_KEY, None)
    content: Any = item.memory
    mime_type: MemoryMimeType | str = MemoryMimeType.TEXT
    if isinstance(mime, str):
        mime_type = _MIME_TYPES.get(mime, mime)
        if mime == MemoryMimeType.JSON.value:
            try:
                content = json.loads(item.memory)
            except ValueError:  # edited to non-JSON text since: give the text back
                mime_type = MemoryMimeType.TEXT
    stamp = item.valid_from or item.created_at
    return MemoryContent(
        content=content,
        mime_type=mime_type,
        metadata={
            **stored,
            "id": item.id,
            "score": float(item.score) if item.score is not None else None,
            "created_at": stamp.isoformat() if stamp is not None else None,
            "categories": list(item.categories or []),
        },
    )


def _payload(content: MemoryContent) -> tuple[str | dict[str, Any], str | None]:
    """What mnemoweave's ``add`` gets for a ``MemoryContent``, and the MIME type to keep."""
    value, mime = content.content, content.mime_type
    mime_name = mime.value if isinstance(mime, MemoryMimeType) else str(mime)
    if mime_name == MemoryMimeType.JSON.value:
        if not isinstance(value, Mapping | list):
            raise ValidationError(
                f"JSON content must be a dict or a list, got {type(value).__name__}"
            )
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        return text, mime_name
    if isinstance(value, str):
        keep = None if mime_name == MemoryMimeType.TEXT.value else mime_name
        if keep is not None and not keep.startswith("text/"):
            raise ValidationError(f"Unsupported content type {keep!r}: mnemoweave remembers text")
        return value, keep
    if isinstance(value, Mapping):
        message = to_message(value) if "content" in value else None
        if message is not None:
            return message, None
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        return text, MemoryMimeType.JSON.value
    kind = "an image" if isinstance(value, Image) else type(value).__name__
    raise ValidationError(f"Unsupported content type ({kind}): mnemoweave remembers text")


def _policy_fields(policy: RawPolicy) -> dict[str, Any] | None:
    if policy == DEFAULT_RAW_POLICY:
        return None
    fields = dataclasses.asdict(policy)
    return {**fields, "roles": sorted(policy.roles)}
