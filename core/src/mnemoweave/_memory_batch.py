"""``BatchMethods``: the all-or-nothing batch calls ``Memory`` offers beside the single ones.

Kept apart from ``memory.py`` so the facade stays thin; each method validates its argument's
shape and hands the work to ``_changing``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import _changing as changing
from . import _validate as check
from ._engine import Engine
from .errors import ValidationError
from .types import BatchResult

__all__ = ["BatchMethods"]


class BatchMethods:
    """Batch add, update and delete, each in one transaction."""

    _engine: Engine

    def batch_add(self, records: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Store raw records ``{"text", user_id/agent_id/run_id, "metadata"?, ...}`` at once.

        No LLM is involved; texts are embedded in batches. Every record is validated before
        anything is written, so a bad record leaves the store untouched.
        """
        if isinstance(records, str | bytes) or not isinstance(records, Sequence):
            raise ValidationError("batch_add takes a list of record dicts")
        return BatchResult._trusted({"results": changing.batch_add(self._engine, records)})

    def batch_update(self, updates: Sequence[Mapping[str, Any]]) -> BatchResult:
        """Apply ``[{"memory_id", "text"?, "metadata"?, "force"?}]`` in one transaction.

        All or nothing: one unknown id, bad value or immutable memory (without ``force``)
        leaves every memory untouched.
        """
        if isinstance(updates, str | bytes) or not isinstance(updates, Sequence):
            raise ValidationError("batch_update takes a list of {'memory_id', 'text', 'metadata'}")
        return BatchResult(results=changing.batch_update(self._engine, list(updates)))

    def batch_delete(self, memory_ids: Sequence[str], *, source: bool = False) -> BatchResult:
        """Erase several memories in one transaction; any unknown id aborts the whole batch.

        ``source=True`` also erases the messages they came from, as in :meth:`delete`; each
        result carries ``erased_from_disk`` as :meth:`delete` describes.
        """
        if isinstance(memory_ids, str | bytes) or not isinstance(memory_ids, Sequence):
            raise ValidationError("batch_delete takes a list of memory ids")
        ids = [
            check.memory_id(m if not isinstance(m, Mapping) else m.get("memory_id"))
            for m in memory_ids
        ]
        _, done = changing.erase_ids(self._engine, ids, check.flag(source, "source"))
        return BatchResult(
            results=[{"id": mid, "event": "DELETE", "erased_from_disk": done} for mid in ids]
        )
