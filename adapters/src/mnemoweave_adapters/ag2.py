"""mnemoweave as an AG2 classic ``ConversableAgent`` capability (package ``autogen`` 0.14).

``MnemoweaveCapability(...).add_to_agent(agent)`` registers two reply hooks:

* ``process_all_messages_before_reply``: recall for the last received (``user``-role)
  message and insert the kit's quoted ``<mnemoweave-memories>`` block as a system message just
  before it. The hook returns a new list, so the block reaches the model but never the
  agent's stored chat history.
* ``process_message_before_send``: remember the exchange, i.e. what the agent received since
  its previous reply plus the reply it is sending (in the background by default).

Install with ``pip install "mnemoweave-adapters[ag2]"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from autogen import Agent, ConversableAgent
from autogen.agentchat.contrib.capabilities.agent_capability import AgentCapability

from mnemoweave.errors import ValidationError

from ._binding import MemoryBinding
from ._messages import text_of, to_message, to_messages
from ._options import StoreLike, bind_store, check_roles, check_token_budget
from ._render import render_memories

__all__ = ["MnemoweaveCapability"]

_RECALL_HOOK = "process_all_messages_before_reply"
_REMEMBER_HOOK = "process_message_before_send"


class MnemoweaveCapability(AgentCapability):
    """Long-term memory for a ``ConversableAgent``: recall before each reply, remember after.

    ``store`` is a directory path (``None``: ``$MNEMOWEAVE_HOME`` or ``~/.mnemoweave``), a
    ``mnemoweave.Memory`` / ``AsyncMemory``, or a ``MemoryBinding``. ``remember_roles`` picks
    which messages of an exchange are stored (``()`` turns remembering off); ``recall=False``
    turns recall off; ``background=False`` writes before the reply is delivered.
    One capability may serve several agents; all of them share its scope.
    """

    def __init__(
        self,
        store: StoreLike = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        infer: bool | None = None,
        recall_limit: int | None = None,
        threshold: float | None = None,
        token_budget: int | None = 1000,
        recall: bool = True,
        remember_roles: Iterable[str] = ("user", "assistant"),
        background: bool = True,
        embedder: Any = None,
        llm: Any = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # AG2's AgentCapability is untyped
        token_budget = check_token_budget(token_budget)
        roles = check_roles(remember_roles, what="remember_roles", allow_empty=True)
        bound = bind_store(
            store,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            metadata=metadata,
            infer=infer,
            recall_limit=recall_limit,
            threshold=threshold,
            embedder=embedder,
            llm=llm,
            options=options,
        )
        self._binding = bound.binding
        self._owns_store = bound.owned
        self._token_budget = token_budget
        self._recall = bool(recall)
        self._roles = roles
        self._background = bool(background)

    @property
    def binding(self) -> MemoryBinding:
        """The scope-bound store every hook goes through."""
        return self._binding

    def __repr__(self) -> str:
        return f"MnemoweaveCapability({self._binding!r})"

    # -- attaching -------------------------------------------------------------------------
    def add_to_agent(self, agent: ConversableAgent) -> None:
        """Register the recall and remember hooks on ``agent`` (once per agent)."""
        if not isinstance(agent, ConversableAgent):
            raise ValidationError(
                f"MnemoweaveCapability attaches to a ConversableAgent, got {type(agent).__name__}"
            )
        hooks = self._hooks()
        if any(hook in agent.hook_lists[name] for name, hook in hooks):
            raise ValidationError(f"this MnemoweaveCapability is already on agent {agent.name!r}")
        for name, hook in hooks:
            agent.register_hook(name, hook)

    def remove_from_agent(self, agent: ConversableAgent) -> None:
        """Unregister this capability's hooks from ``agent`` (a no-op if they are absent)."""
        for name, hook in self._hooks():
            if hook in agent.hook_lists[name]:
                agent.hook_lists[name].remove(hook)

    def _hooks(self) -> list[tuple[str, Any]]:
        hooks: list[tuple[str, Any]] = []
        if self._recall:
            hooks.append((_RECALL_HOOK, self._inject_memories))
        if self._roles:
            hooks.append((_REMEMBER_HOOK, self._remember_exchange))
        return hooks

    # -- the hooks -------------------------------------------------------------------------
    def _inject_memories(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert the memory block before the last user-role message (a new list)."""
        if not messages:
            return messages
        index = _last_user_index(messages)
        if index is None:
            return messages
        query = text_of(messages[index].get("content"))
        block = render_memories(self._binding.recall(query), token_budget=self._token_budget)
        if not block:
            return messages
        # Before the question, not at the end: a tool result must directly follow the
        # assistant's tool call, so appending after it would break the tool protocol.
        return [*messages[:index], {"role": "system", "content": block}, *messages[index:]]

    def _remember_exchange(
        self,
        sender: ConversableAgent,
        message: dict[str, Any] | str,
        recipient: Agent,
        silent: bool,
    ) -> dict[str, Any] | str:
        """Remember what ``sender`` received since its last reply plus the reply it sends."""
        history = (
            sender.chat_messages.get(recipient, []) if hasattr(sender, "chat_messages") else []
        )
        received = _since_last_reply(history)
        turn = to_messages(received)
        outgoing = to_message(_outgoing(message, sender.name))
        if outgoing is not None:
            turn.append(outgoing)
        turn = [m for m in turn if m["role"] in self._roles]
        if turn:
            self._binding.remember_turn(turn, background=self._background)
        return message

    # -- lifecycle -------------------------------------------------------------------------
    def clear(self) -> int:
        """Erase every memory of this scope (other scopes are untouched); returns the count."""
        return self._binding.forget_all()

    def flush(self) -> None:
        """Wait for background writes to reach the store."""
        self._binding.flush()

    def close(self) -> None:
        """Finish pending writes; close the store when this capability opened it."""
        self._binding.flush()
        if self._owns_store:
            self._binding.memory.close()


def _last_user_index(messages: list[dict[str, Any]]) -> int | None:
    for index in range(len(messages) - 1, -1, -1):
        msg = messages[index]
        if isinstance(msg, Mapping) and msg.get("role") == "user":
            return index if text_of(msg.get("content")).strip() else None
    return None


def _since_last_reply(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages after the agent's own latest (``assistant``-role) message."""
    for index in range(len(history) - 1, -1, -1):
        if history[index].get("role") == "assistant":
            return history[index + 1 :]
    return list(history)


def _outgoing(message: dict[str, Any] | str, name: str) -> dict[str, Any]:
    """The reply as the sender stores it: AG2 turns any non-tool role into ``assistant``."""
    if isinstance(message, str):
        return {"role": "assistant", "content": message, "name": name}
    if not isinstance(message, Mapping):
        return {"role": "assistant", "content": ""}
    role = message.get("role")
    kept = role if role in ("tool", "function") else "assistant"
    return {"role": kept, "content": message.get("content"), "name": message.get("name") or name}
