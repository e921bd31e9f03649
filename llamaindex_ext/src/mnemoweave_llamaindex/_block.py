"""``MnemoweaveMemoryBlock``: mnemoweave as a block of LlamaIndex's ``Memory`` class.

``Memory`` keeps a short-term FIFO of messages; when it overflows, the oldest messages are
flushed to every block's ``aput``. This block sends them to mnemoweave ``add`` and, on each
``aget``, renders the recall for the latest messages as the kit's quoted block, which
``Memory`` places in its memory template. With ``priority > 0`` the block can be truncated:
it re-renders its last recall with fewer tokens (dropping the weakest memories first).
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr
from llama_index.core.memory import BaseMemoryBlock

from mnemoweave import MemoryItem
from mnemoweave_adapters import MemoryBinding, to_messages

from ._chat import check_messages, latest_text
from ._options import RecallOptions, bind, validated


class MnemoweaveMemoryBlock(BaseMemoryBlock[str], RecallOptions):
    """Long-term recall from mnemoweave for ``llama_index.core.memory.Memory``.

    ``MnemoweaveMemoryBlock(memory=Memory(...), user_id="u")``; add it with
    ``Memory.from_defaults(memory_blocks=[block])``. Messages flushed out of the FIFO are
    remembered: user and assistant ones when mnemoweave extracts facts, else what the kit's
    raw-storage policy keeps (user statements; see ``remember_replies`` and ``raw_policy``);
    never tool traffic. The ``Memory`` session id is kept as
    ``metadata["session_id"]``.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(default="mnemoweave", description="The block's name in the template.")
    description: str | None = Field(
        default="Facts mnemoweave recalled from earlier conversations.",
        description="A description of the memory block.",
    )

    _binding: MemoryBinding = PrivateAttr()
    _last: tuple[str, list[MemoryItem]] | None = PrivateAttr(default=None)

    def __init__(self, *, memory: Any = None, **data: Any) -> None:
        validated(super().__init__, data, "MnemoweaveMemoryBlock")
        self._binding = bind(self, memory)

    @classmethod
    def from_memory(
        cls,
        memory: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        **settings: Any,
    ) -> MnemoweaveMemoryBlock:
        """A block over an existing ``Memory``/``AsyncMemory`` for one scope."""
        return cls(memory=memory, user_id=user_id, agent_id=agent_id, run_id=run_id, **settings)

    @property
    def binding(self) -> MemoryBinding:
        """The mnemoweave store bound to this block's scope."""
        return self._binding

    async def _aget(self, messages: list[ChatMessage] | None = None, **block_kwargs: Any) -> str:
        """The recall block for the latest user message (else the latest text), or ""."""
        query = latest_text(check_messages(messages or [], "aget"))
        if not query.strip():
            return ""
        items = await self._binding.arecall(query)
        rendered = self.render(items)
        self._last = (rendered, items) if rendered else None
        return rendered

    async def _aput(self, messages: list[ChatMessage]) -> None:
        """Remember the user and assistant messages flushed out of the short-term FIFO."""
        messages = check_messages(messages, "aput")
        records = to_messages(messages, roles=("user", "assistant"))  # never tool traffic
        if not records:
            return
        session = next(
            (
                m.additional_kwargs["session_id"]
                for m in messages
                if "session_id" in m.additional_kwargs
            ),
            None,
        )
        metadata = {"session_id": session} if isinstance(session, str) else None
        if self.background:
            # Submitting is cheap and lands on mnemoweave's worker threads, which outlive
            # the short event loops LlamaIndex's sync wrappers create; the next aget still
            # sees it (mnemoweave's read-your-writes waits for it).
            self._binding.remember_turn(records, background=True, metadata=metadata)
        else:
            await self._binding.aremember_turn(records, metadata=metadata)

    async def atruncate(self, content: str, tokens_to_truncate: int) -> str | None:
        """The last recall re-rendered ``tokens_to_truncate`` smaller (None: drop it all)."""
        if tokens_to_truncate <= 0:
            return content
        if self._last is None or self._last[0] != content:
            return None  # not what this block rendered last: fall back to dropping it
        target = self.count_tokens(content) - tokens_to_truncate
        if target <= 0:
            return None
        return self.render(self._last[1], budget=target) or None

    def flush(self) -> None:
        """Wait for background remembers started on this block's store."""
        self._binding.flush()

    def forget_all(self) -> int:
        """Erase this scope's long-term memories; returns how many were erased."""
        self._last = None
        return self._binding.forget_all()
