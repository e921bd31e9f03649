"""``MnemoweaveMemory``: a LlamaIndex ``BaseMemory`` with a persisted chat buffer and recall.

Short-term: the recent messages, trimmed to ``token_limit``; they survive restarts because
finished turns land in mnemoweave's per-scope message window, which a new instance reloads.
Long-term: ``get`` recalls memories relevant to the input (or the last user message) and
puts the kit's quoted block in one system message in front of the history.

A *finished turn* is one or more user messages followed by an assistant message that has
text and asks for no tools. The turn (those user messages and that answer, not the tool
chatter in between) goes to mnemoweave ``add``, in the background by default; ``add`` also
appends it to the scope's window, so nothing is stored twice. Without fact extraction (no
mnemoweave LLM) only the user messages are added and the answer goes to the window alone,
right after them. Other messages reach the window (``append_messages``) on their own, and
every window write waits for the previous turn's add, so the window keeps the order.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr, field_validator
from llama_index.core.memory import BaseMemory, InsertMethod

from mnemoweave import AddHandle, ConfigurationError, Memory, MemoryItem, ValidationError
from mnemoweave_adapters import MemoryBinding, setting_spec

from ._chat import (
    as_record,
    calls_tools,
    check_messages,
    copies,
    from_record,
    query_text,
    trim,
    with_block_first,
)
from ._options import RecallOptions, bind, scope_from, validated

DEFAULT_TOKEN_LIMIT = 3000
#: Share of an LLM's context window given to memory when ``from_defaults(llm=...)`` sizes it.
LLM_CONTEXT_SHARE = 0.75


class MnemoweaveMemory(BaseMemory, RecallOptions):
    """Chat memory for LlamaIndex chat engines and agents, backed by mnemoweave.

    Build it with :meth:`from_memory` (a store you own), :meth:`from_defaults` (opens a
    store at ``path``) or :meth:`from_config` (a mem0-style config dict), always with at
    least one scope id. With ``session_id`` each conversation keeps its own history
    (stored under ``run_id=session_id``) while recall spans all of the user's sessions.
    ``insert_method="user"`` puts recall at the top of the latest user message instead of
    a system message (``ReActAgent`` drops a leading system message when the agent has no
    ``system_prompt``).
    """

    model_config = ConfigDict(extra="forbid")

    token_limit: int = Field(
        default=DEFAULT_TOKEN_LIMIT,
        gt=0,
        description="Tokens of history plus recall that get() returns at most.",
    )
    session_id: str | None = Field(
        default=None,
        description="A conversation id: its history and turns are stored with "
        "run_id=session_id, while recall searches the whole user/agent scope.",
    )
    insert_method: Literal["system", "user"] = Field(
        default="system",
        description="Where recall goes: a leading system message, or the latest user message.",
    )

    _binding: MemoryBinding = PrivateAttr()
    _chat: MemoryBinding = PrivateAttr()
    _owns_store: bool = PrivateAttr(default=False)
    _lock: Any = PrivateAttr(default_factory=threading.RLock)
    _history: list[ChatMessage] = PrivateAttr(default_factory=list)
    _pending: list[dict[str, Any]] = PrivateAttr(default_factory=list)
    _last_add: AddHandle | None = PrivateAttr(default=None)
    _unchecked: list[AddHandle] = PrivateAttr(default_factory=list)

    def __init__(self, *, memory: Any = None, **data: Any) -> None:
        validated(super().__init__, data, "MnemoweaveMemory")
        self._binding = bind(self, memory)
        self._chat = self._binding
        if self.session_id is not None:
            if self.run_id is not None:
                raise ValidationError(
                    "set session_id or run_id, not both: session_id is the run_id the "
                    "conversation is stored under, while recall spans the whole scope"
                )
            self._chat = self._binding.with_scope(run_id=self.session_id)
        self._reload()

    @field_validator("insert_method", mode="before")
    @classmethod
    def _insert_method_value(cls, value: Any) -> Any:
        return value.value if isinstance(value, InsertMethod) else value

    @classmethod
    def class_name(cls) -> str:
        return "MnemoweaveMemory"

    # -- constructors ------------------------------------------------------------------
    @classmethod
    def from_memory(
        cls,
        memory: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        **settings: Any,
    ) -> MnemoweaveMemory:
        """Bind an existing ``Memory``/``AsyncMemory`` to a scope; the caller keeps owning it.

        ``chat_history`` replaces the scope's short-term history (as :meth:`set` does).
        """
        out = cls(memory=memory, user_id=user_id, agent_id=agent_id, run_id=run_id, **settings)
        if chat_history is not None:
            out.set(list(chat_history))
        return out

    @classmethod
    def from_defaults(
        cls,
        path: str | Path | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        embedder: Any = None,
        memory_llm: Any = None,
        llm: Any = None,
        token_limit: int | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        **settings: Any,
    ) -> MnemoweaveMemory:
        """Open (and own) a mnemoweave store at ``path`` (default ``$MNEMOWEAVE_HOME``).

        ``memory_llm`` is mnemoweave's extraction LLM (an OpenAI-compatible config dict);
        ``llm`` is a LlamaIndex LLM whose context window sizes ``token_limit``, as in
        LlamaIndex's own ``from_defaults``.
        """
        if token_limit is None:
            token_limit = DEFAULT_TOKEN_LIMIT
            if llm is not None:
                window = getattr(getattr(llm, "metadata", None), "context_window", None)
                if not isinstance(window, int):
                    raise ValidationError(
                        "llm must be a LlamaIndex LLM (it sizes token_limit); pass mnemoweave's "
                        "extraction LLM config as memory_llm=..."
                    )
                token_limit = int(window * LLM_CONTEXT_SHARE)
        memory = Memory(path, embedder=embedder, llm=memory_llm)
        try:
            out = cls.from_memory(
                memory,
                user_id=user_id,
                agent_id=agent_id,
                run_id=run_id,
                chat_history=chat_history,
                token_limit=token_limit,
                **settings,
            )
        except BaseException:
            memory.close()
            raise
        out._owns_store = True
        return out

    @classmethod
    def from_config(
        cls,
        context: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        chat_history: Sequence[ChatMessage] | None = None,
        **settings: Any,
    ) -> MnemoweaveMemory:
        """Open (and own) a store from a mem0-style ``config`` dict, scoped by ``context``.

        Mirrors the community ``Mem0Memory.from_config(context=..., config=...)``:
        ``context`` is ``{"user_id": ..., "agent_id": ..., "run_id": ...}`` (the keyword
        ids work too); ``config`` is what ``mnemoweave.Memory.from_config`` accepts.
        """
        scope = scope_from(context, {"user_id": user_id, "agent_id": agent_id, "run_id": run_id})
        memory = Memory.from_config(config or {})
        try:
            out = cls.from_memory(memory, chat_history=chat_history, **scope, **settings)
        except BaseException:
            memory.close()
            raise
        out._owns_store = True
        return out

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self, **kwargs: Any) -> dict[str, Any]:
        """The settings, the store to reopen and the unfinished turn (JSON-serialisable).

        The history itself lives in the store's window; ``pending`` holds user messages
        whose turn has no answer yet (they are not in the window until it has one). ``store``
        is the store's directory and embedder, when they have a config form.
        """
        data = super().to_dict(**kwargs)
        with self._lock:
            data["pending"] = [dict(r) for r in self._pending]
        store = _store_of(self._binding)
        if store is not None:
            data["store"] = store
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], **kwargs: Any) -> MnemoweaveMemory:
        """Rebuild from :meth:`to_dict`: on ``memory=`` if given, else on the recorded store."""
        data = dict(data)
        data.pop("class_name", None)
        pending = data.pop("pending", None) or []
        store = data.pop("store", None)
        memory = kwargs.pop("memory", None)
        data.update(kwargs)
        owned = memory is None
        if memory is None:
            if not isinstance(store, dict) or not store.get("path"):
                raise ValidationError(
                    "this MnemoweaveMemory was saved without a reopenable store: pass memory=..."
                )
            memory = Memory(store["path"], embedder=store.get("embedder"))
        try:
            out = cls(memory=memory, **data)
        except BaseException:
            if owned:
                memory.close()
            raise
        out._owns_store = owned
        out._restore_pending(pending)
        return out

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Pickles as :meth:`to_dict`: unpickling reopens the recorded store (and owns it)."""
        data = self.to_dict()
        if "store" not in data:
            raise TypeError(
                "this MnemoweaveMemory's store cannot be reopened from its settings (a remote "
                "client, or an embedder object): save it with to_string() and rebind with "
                "from_string(..., memory=store)"
            )
        return (_unpickle, (data,))

    def to_string(self) -> str:
        """:meth:`to_dict` as JSON (LlamaIndex's ``ChatMemoryBuffer`` spelling)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_string(cls, json_str: str, **kwargs: Any) -> MnemoweaveMemory:
        """The memory saved by :meth:`to_string` (``memory=`` rebinds it to an open store)."""
        try:
            data = json.loads(json_str)
        except ValueError as exc:
            raise ValidationError(f"from_string got invalid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValidationError("from_string expects a JSON object made by to_string()")
        return cls.from_dict(data, **kwargs)

    def _restore_pending(self, pending: Any) -> None:
        if not isinstance(pending, list):
            raise ValidationError("pending must be a list of {role, content} messages")
        records = [as_record(from_record(r)) for r in pending if isinstance(r, Mapping)]
        with self._lock:
            for record in records:
                if record is not None and record not in self._pending:
                    self._pending.append(record)
                    self._history.append(from_record(record))
            self._cap()

    # -- the store -----------------------------------------------------------------------
    @property
    def binding(self) -> MemoryBinding:
        """The mnemoweave store bound to this memory's (recall) scope."""
        return self._binding

    @property
    def chat_binding(self) -> MemoryBinding:
        """Where the history and turns are written: the scope, plus ``run_id=session_id``."""
        return self._chat

    def _reload(self) -> None:
        """Load the scope's persisted window as the short-term history."""
        self._chat.flush()  # adds from this process still on their way to the window
        with self._lock:
            self._history = [from_record(r) for r in self._chat.messages()]
            self._pending = []

    def _settle(self) -> None:
        """Wait for the previous turn's add, so window writes keep conversation order."""
        handle, self._last_add = self._last_add, None
        if handle is not None:
            handle.exception()  # waits; the error stays on the handle for flush()

    def _remember_turn(self, turn: list[dict[str, Any]]) -> None:
        """The kit's rule: the whole turn with an LLM, else what the raw policy keeps."""
        self._settle()
        for result in self._chat.remember_turn(turn, background=self.background):
            if isinstance(result, AddHandle):
                self._last_add = result
                # Keep handles until flush() reports them, but not the ones that succeeded.
                self._unchecked = [h for h in self._unchecked if not h.done() or h.exception()]
                self._unchecked.append(result)

    def _to_window(self, records: list[dict[str, Any]]) -> None:
        self._settle()
        self._chat.append_messages(records)

    def flush(self) -> None:
        """Wait for background remembers; raise the first error any of them hit."""
        with self._lock:
            self._settle()
            handles, self._unchecked = self._unchecked, []
        self._binding.flush()
        errors = [e for e in (h.exception() for h in handles) if e is not None]
        if errors:
            raise errors[0]

    async def aflush(self) -> None:
        await asyncio.to_thread(self.flush)

    def close(self) -> None:
        """Flush, then close the store if this memory opened it (from_defaults/from_config)."""
        try:
            self.flush()
        finally:
            if self._owns_store:
                self._binding.memory.close()

    def forget_all(self) -> int:
        """Erase the scope's memories and histories (all sessions); returns the memories erased."""
        with self._lock:
            self._settle()
            self._history, self._pending = [], []
            return self._binding.forget_all()

    # -- BaseMemory: writing ---------------------------------------------------------------
    def put(self, message: ChatMessage) -> None:
        """Add one message; a finished turn is sent to mnemoweave ``add``."""
        (message,) = check_messages([message], "put")
        with self._lock:
            self._history.append(message.model_copy(deep=True))
            self._cap()
            self._route(message)

    def put_messages(self, messages: list[ChatMessage]) -> None:
        for message in check_messages(messages, "put_messages"):
            self.put(message)

    def _route(self, message: ChatMessage) -> None:
        record = as_record(message)
        if record is None or record["role"] == "tool":
            return  # tool traffic and non-text content stay in this process only
        if record["role"] == "user":
            self._pending.append(record)
        elif record["role"] == "assistant":
            if calls_tools(message):
                return
            if self._pending:
                users, self._pending = self._pending, []
                self._remember_turn([*users, record])
            else:
                self._to_window([record])
        else:
            self._to_window([record])

    def _cap(self) -> None:
        limit = self._binding.memory.config.message_window
        if len(self._history) > limit:
            del self._history[: len(self._history) - limit]

    def set(self, messages: list[ChatMessage]) -> None:
        """Replace the history; it is persisted as the window but creates no memories.

        Trailing user messages with no answer yet stay pending: the next assistant reply
        completes a turn with them, as if they had been ``put``.
        """
        messages = check_messages(messages, "set")
        answered = len(messages)
        while answered and messages[answered - 1].role == MessageRole.USER:
            answered -= 1
        records = [
            record
            for message in messages[:answered]
            if (record := as_record(message)) is not None
            and record["role"] != "tool"
            and not calls_tools(message)
        ]
        with self._lock:
            self._settle()
            self._chat.clear_messages()
            self._chat.append_messages(records)
            self._history = copies(messages)
            self._pending = [r for m in messages[answered:] if (r := as_record(m)) is not None]
            self._cap()

    def reset(self) -> None:
        """Clear the short-term history (memory and window); long-term memories stay."""
        with self._lock:
            self._settle()
            self._chat.clear_messages()
            self._history, self._pending = [], []

    async def aput(self, message: ChatMessage) -> None:
        await asyncio.to_thread(self.put, message)

    async def aput_messages(self, messages: list[ChatMessage]) -> None:
        await asyncio.to_thread(self.put_messages, messages)

    async def aset(self, messages: list[ChatMessage]) -> None:
        await asyncio.to_thread(self.set, messages)

    async def areset(self) -> None:
        await asyncio.to_thread(self.reset)

    # -- BaseMemory: reading ---------------------------------------------------------------
    def get_all(self) -> list[ChatMessage]:
        """The whole short-term history (no recall), oldest first."""
        with self._lock:
            return copies(self._history)

    async def aget_all(self) -> list[ChatMessage]:
        return self.get_all()

    def get(
        self,
        input: str | ChatMessage | None = None,
        initial_token_count: int = 0,
        **kwargs: Any,
    ) -> list[ChatMessage]:
        """Recent messages within ``token_limit``, preceded by the recall for ``input``.

        ``input`` defaults to the last user message; ``initial_token_count`` (passed by
        chat engines for their prefix messages) is taken off the budget. The newest
        message is always kept; the recall block gets up to ``recall_token_budget`` of
        what remains (dropping its weakest memories to fit), older messages the rest.
        """
        budget = self._budget(initial_token_count)
        history = self.get_all()
        query = query_text(input, history)
        items = self._binding.recall(query) if query.strip() else []
        return self._compose(history, items, budget)

    async def aget(
        self,
        input: str | ChatMessage | None = None,
        initial_token_count: int = 0,
        **kwargs: Any,
    ) -> list[ChatMessage]:
        budget = self._budget(initial_token_count)
        history = self.get_all()
        query = query_text(input, history)
        items = await self._binding.arecall(query) if query.strip() else []
        return self._compose(history, items, budget)

    def _budget(self, initial_token_count: Any) -> int:
        if isinstance(initial_token_count, bool) or not isinstance(initial_token_count, int):
            raise ValidationError(
                f"initial_token_count must be an int, got {initial_token_count!r}"
            )
        if initial_token_count > self.token_limit:
            raise ValidationError(
                f"initial_token_count ({initial_token_count}) exceeds token_limit "
                f"({self.token_limit})"
            )
        return self.token_limit - initial_token_count

    def _compose(
        self, history: list[ChatMessage], items: list[MemoryItem], budget: int
    ) -> list[ChatMessage]:
        newest = self.count_message(history[-1]) if history else 0
        room = min(self.recall_token_budget, budget - newest)
        block = self.render(items, budget=room) if items and room > 0 else ""
        kept = trim(
            history, budget - (self.count_tokens(block) if block else 0), self.count_message
        )
        if not block:
            return kept
        if self.insert_method == "user":
            for index in range(len(kept) - 1, -1, -1):
                if kept[index].role == MessageRole.USER:
                    kept[index] = with_block_first(kept[index], block)
                    return kept
        if kept and kept[0].role == MessageRole.SYSTEM:
            kept[0] = with_block_first(kept[0], block)
            return kept
        return [ChatMessage(role=MessageRole.SYSTEM, content=block), *kept]


def _store_of(binding: MemoryBinding) -> dict[str, Any] | None:
    """``{"path", "embedder"}`` of a local store whose embedder has a config form."""
    memory = binding.memory
    if not isinstance(memory, Memory):
        return None
    try:
        embedder = setting_spec("embedder", memory.config.embedder)
    except ConfigurationError:
        return None
    return {"path": str(memory.path), "embedder": embedder}


def _unpickle(data: dict[str, Any]) -> MnemoweaveMemory:
    return MnemoweaveMemory.from_dict(data)
