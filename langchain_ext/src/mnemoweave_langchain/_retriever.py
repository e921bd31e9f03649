"""``MnemoweaveRetriever``: mnemoweave recall as a LangChain ``BaseRetriever`` for LCEL chains."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from mnemoweave import ValidationError
from mnemoweave_adapters import MemoryBinding, run_async

from ._convert import to_document


class MnemoweaveRetriever(BaseRetriever):
    """Recall the binding's memories as ``Document``s, best first.

    ``page_content`` is the memory text; ``metadata`` holds ``id``, ``score``, the timestamps,
    the scope ids, categories and the memory's own metadata. ``limit`` (alias ``k``, the
    usual LangChain name) defaults to the binding's ``recall_limit``; ``filters`` are
    mnemoweave filters applied to every query. Both can be given per call:
    ``retriever.invoke(q, k=3)`` / ``invoke(q, limit=3, filters={...})`` (per-call filters
    are ANDed with the retriever's). ``add_documents`` stores documents verbatim in the scope.
    """

    binding: MemoryBinding
    limit: int | None = None
    filters: dict[str, Any] | None = None

    def __init__(self, binding: MemoryBinding | None = None, /, **kwargs: Any) -> None:
        if binding is not None:
            kwargs["binding"] = binding
        if "k" in kwargs:
            if kwargs.get("limit") is not None:
                raise ValidationError("pass limit or k, not both")
            kwargs["limit"] = kwargs.pop("k")
        super().__init__(**kwargs)
        if not isinstance(self.binding, MemoryBinding):
            raise ValidationError("MnemoweaveRetriever needs a mnemoweave_adapters.MemoryBinding")
        _check_limit(self.limit)

    def _options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``limit`` and ``filters`` for one call: the retriever's, overridden per call."""
        kwargs.pop("verbose", None)  # LangChain forwards its callback option here too
        limit = kwargs.pop("limit", None)
        if "k" in kwargs:
            if limit is not None:
                raise ValidationError("pass limit or k, not both")
            limit = kwargs.pop("k")
        filters = kwargs.pop("filters", None)
        if kwargs:
            raise ValidationError(
                f"unknown retriever options {sorted(kwargs)}; use k/limit and filters"
            )
        _check_limit(limit)
        if filters is not None and not isinstance(filters, dict):
            raise ValidationError(f"filters must be a dict, got {type(filters).__name__}")
        if filters and self.filters:
            filters = {"AND": [self.filters, filters]}
        return {"limit": limit or self.limit, "filters": filters or self.filters}

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        items = self.binding.recall(query, **self._options(kwargs))
        return [to_document(item) for item in items]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        items = await self.binding.arecall(query, **self._options(kwargs))
        return [to_document(item) for item in items]

    def add_documents(self, documents: Sequence[Document], **kwargs: Any) -> list[str]:
        """Store each document's text as one memory of the binding's scope; returns the ids.

        The document's metadata is kept (merged over the binding's metadata); no LLM runs.
        """
        if kwargs:
            raise ValidationError(f"add_documents takes no options, got {sorted(kwargs)}")
        records = []
        for i, doc in enumerate(documents):
            if not isinstance(doc, Document):
                raise ValidationError(f"documents[{i}] is a {type(doc).__name__}, not a Document")
            metadata = {**self.binding.metadata, **doc.metadata}
            records.append({"text": doc.page_content, **self.binding.scope, "metadata": metadata})
        if not records:
            return []
        result = self.binding.memory.batch_add(records)
        return [row["id"] for row in result.results]

    async def aadd_documents(self, documents: Sequence[Document], **kwargs: Any) -> list[str]:
        """Async twin of :meth:`add_documents`."""
        return await run_async(self.add_documents, documents, **kwargs)


def _check_limit(limit: Any) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValidationError(f"limit must be a positive int or None, got {limit!r}")
