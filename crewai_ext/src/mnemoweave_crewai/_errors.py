"""The dimension-mismatch error both mnemoweave and CrewAI code can catch.

``EmbeddingDimensionMismatchError`` is mnemoweave's ``DimensionMismatchError`` *and* CrewAI's
``crewai.memory.storage.backend.EmbeddingDimensionMismatchError`` (a ``ValueError``, never a
``RuntimeError``, so CrewAI's background saves report it instead of dropping it)::

    mnemoweave.errors.DimensionMismatchError ─┐
    crewai ... EmbeddingDimensionMismatchError ┴── mnemoweave_crewai.EmbeddingDimensionMismatchError
"""

from __future__ import annotations

from crewai.memory.storage.backend import (
    EmbeddingDimensionMismatchError as CrewDimensionMismatchError,
)

from mnemoweave.errors import DimensionMismatchError


class EmbeddingDimensionMismatchError(DimensionMismatchError, CrewDimensionMismatchError):
    """A vector's size differs from the vectors this storage already holds (or makes)."""

    def __init__(self, stored_dim: int, new_dim: int, hint: str | None = None) -> None:
        CrewDimensionMismatchError.__init__(self, stored_dim, new_dim)
        if hint:
            self.args = (f"{self.args[0]}\n\nmnemoweave: {hint}",)
        self.expected = stored_dim
        self.got = new_dim
