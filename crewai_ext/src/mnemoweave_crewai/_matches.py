"""Recall results that CrewAI renders as the kit's quoted memory block.

CrewAI builds the task prompt as ``"Relevant memories:\\n" + "\\n".join(m.format() for m in
matches)``. Its own ``MemoryMatch.format`` pastes raw memory text (and metadata) into the
prompt, so a stored memory could pose as instructions. Each :class:`MnemoweaveMatch` instead
carries its slice of :func:`mnemoweave_adapters.render_memories`' block: the first opens the
block, the last closes it, and joined in order (as every CrewAI call site does) they are
exactly the kit's block.
"""

from __future__ import annotations

from collections.abc import Sequence

from crewai.memory.types import MemoryMatch
from pydantic import PrivateAttr

from mnemoweave import MemoryItem
from mnemoweave_adapters import fit_memories, render_memories

from ._records import to_record

MATCH_REASONS = ["hybrid"]


class MnemoweaveMatch(MemoryMatch):
    """A ``MemoryMatch`` whose ``format()`` is its part of the rendered memory block."""

    _text: str = PrivateAttr(default="")

    def format(self) -> str:
        """This match's lines of the quoted block (see the module docstring)."""
        return self._text or render_memories([_item_of(self)], token_budget=None)


def _item_of(match: MemoryMatch) -> MemoryItem:
    record = match.record
    return MemoryItem(id=record.id, memory=record.content, created_at=record.created_at)


def frame(items: Sequence[MemoryItem], *, token_budget: int | None) -> list[MnemoweaveMatch]:
    """Matches for ``items`` (best first) whose formats join into one kit block.

    Items the block's ``token_budget`` leaves out are left out here too, so what CrewAI
    shows the model and what it gets back agree.
    """
    shown = fit_memories(items, token_budget=token_budget)
    block = render_memories(shown, token_budget=None)
    if not block:
        return []
    lines = block.split("\n")
    head = len(lines) - len(shown) - 1  # the opening tag and preamble come first
    pieces = lines[head:-1]
    pieces[0] = "\n".join(lines[: head + 1])
    pieces[-1] = "\n".join([pieces[-1], lines[-1]])
    matches = []
    for item, piece in zip(shown, pieces):
        match = MnemoweaveMatch(
            record=to_record(item),
            score=float(item.score or 0.0),
            match_reasons=list(MATCH_REASONS),
        )
        match._text = piece
        matches.append(match)
    return matches
