"""``MnemoweaveMiddleware``: long-term memory for ``langchain.agents.create_agent``.

``before_model`` recalls the memories relevant to the latest human message and keeps the
kit-rendered block in a private state key; ``wrap_model_call`` adds that block to the system
message of that model call only, so recalled text never piles up in the conversation (or the
checkpoint's message list). ``after_agent`` remembers the exchange -- the latest human
message and the final answer -- in the background by default.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, NotRequired

from langchain.agents.middleware import (
    AgentMiddleware,
    AgentState,
    ModelRequest,
    ModelResponse,
)
from langchain.agents.middleware.types import OmitFromSchema
from langchain_core.messages import BaseMessage, SystemMessage
from langgraph.runtime import Runtime

from mnemoweave import ValidationError
from mnemoweave_adapters import MemoryBinding, last_user_text, render_memories

from ._convert import conversation
from ._scope import run_binding

RECALL_KEY = "mnemoweave_recall"


class MnemoweaveState(AgentState[Any]):
    """Agent state plus the recalled block for the next model call (internal to mnemoweave)."""

    mnemoweave_recall: NotRequired[Annotated[str, OmitFromSchema(input=True, output=True)]]


class MnemoweaveMiddleware(AgentMiddleware[MnemoweaveState, Any, Any]):
    """Recall before each model call and remember each exchange, on a ``MemoryBinding``.

    A run's ``context`` may carry ``user_id`` / ``agent_id`` / ``run_id`` (a dict or an
    object with those attributes); they replace the binding's ids for that run, so one agent
    can serve many users; ``per_user=True`` refuses a run without ``user_id`` in its context
    (``MissingUserError``) instead of using the binding's user. The memory tools follow the
    same rule. ``recall=False`` or ``remember=False`` turn either half off;
    ``background=False`` makes ``after_agent`` wait for the memories to be stored;
    ``token_budget`` caps the injected block; ``recall_limit`` defaults to the binding's.
    """

    state_schema = MnemoweaveState

    def __init__(
        self,
        binding: MemoryBinding,
        *,
        recall: bool = True,
        remember: bool = True,
        background: bool = True,
        token_budget: int | None = 1000,
        recall_limit: int | None = None,
        per_user: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(binding, MemoryBinding):
            raise ValidationError("MnemoweaveMiddleware needs a mnemoweave_adapters.MemoryBinding")
        self.binding = binding
        self.recall = recall
        self.remember = remember
        self.background = background
        self.token_budget = token_budget
        self.recall_limit = recall_limit
        self.per_user = per_user
        self.tools = []

    # -- scope ---------------------------------------------------------------------------
    def binding_for(self, runtime: Runtime[Any] | None) -> MemoryBinding:
        """The binding for a run: the default one, re-scoped by ids in ``runtime.context``."""
        return run_binding(self.binding, runtime, per_user=self.per_user)

    # -- before_model: recall ------------------------------------------------------------
    def _query(self, state: Mapping[str, Any]) -> str:
        return last_user_text(state.get("messages", ()))

    def before_model(self, state: MnemoweaveState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        if not self.recall:
            return None
        items = self.binding_for(runtime).recall(self._query(state), limit=self.recall_limit)
        return {RECALL_KEY: render_memories(items, token_budget=self.token_budget)}

    async def abefore_model(
        self, state: MnemoweaveState, runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        if not self.recall:
            return None
        binding = self.binding_for(runtime)
        items = await binding.arecall(self._query(state), limit=self.recall_limit)
        return {RECALL_KEY: render_memories(items, token_budget=self.token_budget)}

    # -- the model call: inject ----------------------------------------------------------
    def _with_recall(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        block = request.state.get(RECALL_KEY) if self.recall else None
        if not isinstance(block, str) or not block:
            return request
        return request.override(system_message=_extend_system(request.system_message, block))

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> Any:
        return handler(self._with_recall(request))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> Any:
        return await handler(self._with_recall(request))

    # -- after_agent: remember -----------------------------------------------------------
    def after_agent(self, state: MnemoweaveState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        exchange = latest_exchange(state.get("messages", ()))
        if self.remember and exchange:
            self.binding_for(runtime).remember_turn(exchange, background=self.background)
        return None

    async def aafter_agent(
        self, state: MnemoweaveState, runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        exchange = latest_exchange(state.get("messages", ()))
        if self.remember and exchange:
            binding = self.binding_for(runtime)
            if self.background:
                # Queued on the Memory's worker threads, so it outlives this event loop.
                binding.remember_turn(exchange, background=True)
            else:
                await binding.aremember_turn(exchange)
        return None


def latest_exchange(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """The last human message and the final answer after it, as mnemoweave messages."""
    turns = conversation(messages)
    start = max((i for i, m in enumerate(turns) if m["role"] == "user"), default=None)
    if start is None:
        return []
    answers = [m for m in turns[start + 1 :] if m["role"] == "assistant"]
    return [turns[start], *answers[-1:]]


def _extend_system(system: SystemMessage | None, block: str) -> SystemMessage:
    """The system message with the recall block appended (a new message; inputs untouched)."""
    if system is None:
        return SystemMessage(content=block)
    content = system.content
    if isinstance(content, str):
        merged: Any = f"{content}\n\n{block}" if content else block
    else:
        merged = [*content, {"type": "text", "text": block}]
    return SystemMessage(content=merged)
