"""The smallest complete adapter, for a "framework" whose agents call ``save`` and ``context``.

It exists to test the contract suite itself and to show, in a few lines, what every adapter
does: hold a :class:`MemoryBinding`, remember turns, and inject the rendered recall.
"""

from __future__ import annotations

from typing import Any

from ._binding import MemoryBinding
from ._messages import to_messages
from ._render import render_memories


class ReferenceAdapter:
    """Remembers what it is given and renders recall as the kit's quoted block."""

    def __init__(self, binding: MemoryBinding, *, background: bool = False) -> None:
        self.binding = binding
        self.background = background

    def save(self, turn: Any) -> None:
        """Remember a string, a message dict, or a list of messages."""
        messages = to_messages(turn if isinstance(turn, list) else [turn])
        self.binding.remember(messages, background=self.background)

    async def asave(self, turn: Any) -> None:
        messages = to_messages(turn if isinstance(turn, list) else [turn])
        await self.binding.aremember(messages, background=self.background)

    def context(self, query: str) -> str:
        """The block to put in front of the model for ``query`` (``""`` when nothing is known)."""
        return render_memories(self.binding.recall(query))

    async def acontext(self, query: str) -> str:
        return render_memories(await self.binding.arecall(query))

    def forget_all(self) -> int:
        return self.binding.forget_all()
