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
    the scope ids, categories and the memory's own metadata. ``limit`` defaults to the
    binding's ``recall_limit``; ``filters`` are mnemoweave filters applied to every query.
    ``add_documents`` stores documents verbatim in the same scope.
    """

    binding: MemoryBinding
    limit: int | None = None
    filters: dict[str, Any] | None = None

    def __init__(self, binding: MemoryBinding | None = None, /, **kwargs: Any) -> None:
        if binding is not None:
            kwargs["binding"] = binding
        super().__init__(**kwargs)
        if not isinstance(self.binding, MemoryBinding):
            raise ValidationError("MnemoweaveRetriever needs a mnemoweave_adapters.MemoryBinding")
        if self.limit is not None and (isinstance(self.limit, bool) or self.limit < 1):
            raise ValidationError(f"limit must be a positive int or None, got {self.limit!r}")

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        items = self.binding.recall(query, limit=self.limit, filters=self.filters)
        return [to_document(item) for item in items]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        items = await self.binding.arecall(query, limit=self.limit, filters=self.filters)
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
