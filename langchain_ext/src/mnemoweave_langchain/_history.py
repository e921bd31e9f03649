"""``MnemoweaveChatMessageHistory``: a session's recent messages for ``RunnableWithMessageHistory``.

The session's turns live in mnemoweave's per-scope message window (the session is the
binding's scope, or ``run_id=session_id``). Each added turn also goes through mnemoweave's
``add``, so long-term facts are extracted (or stored raw without an LLM) and can be recalled
from other sessions of the same user. ``clear()`` empties the session's window only.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import BaseMessage

from mnemoweave import ValidationError
from mnemoweave_adapters import MemoryBinding, run_async

from ._convert import conversation, to_langchain


class MnemoweaveChatMessageHistory(BaseChatMessageHistory):
    """Chat history on mnemoweave's message window, feeding every turn to long-term memory.

    ``session_id`` scopes the history to ``run_id=session_id`` under the binding's user or
    agent; ``window`` caps how many recent messages ``messages`` returns (default: mnemoweave's
    window size); ``remember=False`` keeps the window without creating memories;
    ``background=True`` extracts memories in the background (the window then shows a turn
    once its add has finished -- ``flush()`` waits).
    """

    def __init__(
        self,
        binding: MemoryBinding,
        *,
        session_id: str | None = None,
        window: int | None = None,
        remember: bool = True,
        background: bool = False,
    ) -> None:
        if not isinstance(binding, MemoryBinding):
            raise ValidationError("MnemoweaveChatMessageHistory needs a MemoryBinding")
        if window is not None and (
            isinstance(window, bool) or not isinstance(window, int) or window < 1
        ):
            raise ValidationError(f"window must be a positive int or None, got {window!r}")
        self.binding = binding.with_scope(run_id=session_id) if session_id else binding
        self.window = window
        self.remember = remember
        self.background = background

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The session's recent messages, oldest first."""
        return [to_langchain(record) for record in self.binding.messages(self.window)]

    async def aget_messages(self) -> list[BaseMessage]:
        return await run_async(lambda: self.messages)

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append the turn to the session and remember it (tool traffic is skipped)."""
        records = conversation(messages)
        if self.remember and any(r["role"] != "system" for r in records):
            self.binding.remember(records, background=self.background)
        else:  # system turns are never memories; the window still keeps them
            self.binding.append_messages(records)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        records = conversation(messages)
        if self.remember and not self.background and any(r["role"] != "system" for r in records):
            await self.binding.aremember(records)
        else:  # a background add is only queued, so the sync path never blocks the loop long
            await run_async(self.add_messages, messages)

    def clear(self) -> None:
        """Forget the session's messages; long-term memories stay."""
        self.binding.clear_messages()

    async def aclear(self) -> None:
        await run_async(self.clear)

    def flush(self) -> None:
        """Wait for background memory extraction to finish."""
        self.binding.flush()
