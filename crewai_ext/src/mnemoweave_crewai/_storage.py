"""``MnemoweaveStorage``: CrewAI's ``StorageBackend`` protocol on a mnemoweave store."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from crewai.memory.types import MemoryRecord, ScopeInfo

from mnemoweave import Memory, MemoryItem, NotFoundError, ValidationError
from mnemoweave.embed import embed_texts
from mnemoweave.remote import MemoryClient
from mnemoweave_adapters import MemoryBinding, RawPolicy, StoreLike, bind_store, run_async

from . import _kept as kept
from . import _scopes as sc
from ._embedding import MnemoweaveEmbedder
from ._errors import EmbeddingDimensionMismatchError
from ._records import to_record, visible_id

_PAGE = 1000
_IDS_PER_QUERY = 500
_UNKNOWN = -1  # the kept-vector size has not been looked up yet


class MnemoweaveStorage:
    """A CrewAI ``StorageBackend`` whose records are memories in one mnemoweave scope.

    ``store`` is a mnemoweave ``Memory``/``AsyncMemory`` or a ``MemoryBinding`` (borrowed), or a
    directory path (``None``: ``$MNEMOWEAVE_HOME``) that the storage opens with ``embedder`` /
    ``llm`` / ``options`` and closes on :meth:`close`. Records are stored raw (CrewAI has
    already analysed them); how CrewAI paths, importance and privacy map onto mnemoweave is the
    rule in ``mnemoweave_crewai._scopes``. Give CrewAI :attr:`embedder` as its embedder so
    searches run mnemoweave's hybrid (dense + keyword) search on the query text; vectors made
    by another embedder are kept and searched exactly (``mnemoweave_crewai._kept``).
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
        raw_policy: RawPolicy | None = None,
        embedder: Any = None,
        llm: Any = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        bound = bind_store(
            store,
            user_id=user_id,
            agent_id=agent_id,
            run_id=run_id,
            metadata=metadata,
            infer=infer,
            raw_policy=raw_policy,
            embedder=embedder,
            llm=llm,
            options=options,
        )
        self._binding = bound.binding
        self._owns = bound.owned
        self._kept_dim: int | None = _UNKNOWN
        try:
            clash = sorted(sc.RESERVED_KEYS.intersection(self._binding.metadata))
            if clash:
                raise ValidationError(f"metadata keys {clash} are reserved by mnemoweave-crewai")
            self._embedder = MnemoweaveEmbedder(self._binding.memory)
        except BaseException:
            self.close()
            raise

    # -- identity ------------------------------------------------------------------------
    @property
    def binding(self) -> MemoryBinding:
        """The mnemoweave store and scope every record lives in."""
        return self._binding

    @property
    def embedder(self) -> MnemoweaveEmbedder:
        """The embedder to give CrewAI (``Memory(embedder=storage.embedder, ...)``)."""
        return self._embedder

    def __repr__(self) -> str:
        return f"MnemoweaveStorage({self._binding!r})"

    def __copy__(self) -> MnemoweaveStorage:
        return self  # a handle on a shared store: copies must see the same data

    def __deepcopy__(self, memo: dict[int, Any]) -> MnemoweaveStorage:
        return self

    def close(self) -> None:
        """Close the mnemoweave store if this storage opened it (otherwise its owner does)."""
        if self._owns:
            self._binding.memory.close()

    # -- reading helpers -------------------------------------------------------------------
    @property
    def _memory(self) -> Memory | MemoryClient:
        return self._binding.memory

    @property
    def _scope(self) -> dict[str, Any]:
        return dict(self._binding.scope)

    def _items(
        self, filters: Mapping[str, Any] | None, *, include_expired: bool = False
    ) -> Iterator[MemoryItem]:
        """Every memory of the scope matching ``filters``, newest first, page by page."""
        offset = 0
        while True:
            page = self._memory.get_all(
                **self._scope,
                filters=filters,
                limit=_PAGE,
                offset=offset,
                include_expired=include_expired,
            ).results
            yield from page
            if len(page) < _PAGE:
                return
            offset += _PAGE

    def _lookup(self, ids: Sequence[str]) -> dict[str, MemoryItem]:
        """Stored memories of this scope by CrewAI id (or mnemoweave id)."""
        if not ids:
            return {}
        found: dict[str, MemoryItem] = {}
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            for item in self._items(sc.with_ids(wanted[start : start + _IDS_PER_QUERY])):
                found.setdefault(visible_id(item), item)
                found.setdefault(item.id, item)
        return {i: found[i] for i in ids if i in found}

    # -- vectors made by another embedder ----------------------------------------------------
    def _foreign(self, vector: Sequence[float] | None) -> Sequence[float] | None:
        """``vector`` if another embedder made it (mnemoweave re-embeds its own anyway)."""
        if vector is None or len(vector) == 0:
            return None
        if len(vector) == self._embedder.dim and self._embedder.text_for(vector) is not None:
            return None
        return vector

    def _stored_dim(self) -> int | None:
        """The size of the vectors kept for this scope (``None``: none kept)."""
        if self._kept_dim == _UNKNOWN:
            found = self._memory.get_all(**self._scope, filters=sc.with_kept_vectors(), limit=1)
            dims = [i.metadata.get(sc.EMBEDDING_DIM_KEY) for i in found.results]
            self._kept_dim = dims[0] if dims and isinstance(dims[0], int) else None
        return None if self._kept_dim == _UNKNOWN else self._kept_dim

    def _check_kept(self, records: Sequence[MemoryRecord]) -> list[Sequence[float] | None]:
        vectors = [self._foreign(r.embedding) for r in records]
        size = kept.check_sizes(self._stored_dim(), [v for v in vectors if v is not None])
        if size is not None:
            self._kept_dim = size
        return vectors

    # -- StorageBackend: writes ------------------------------------------------------------
    def save(self, records: list[MemoryRecord]) -> None:
        """Store records; a record whose id is already stored replaces it (an upsert)."""
        records = _checked(records)
        self._check_kept(records)
        existing = self._lookup([r.id for r in records])
        fresh = [r for r in records if r.id not in existing]
        for record in records:
            if record.id in existing:
                self._replace(existing[record.id], record)
        self._insert([(r, r.id, None) for r in fresh])

    def _insert(self, rows: Sequence[tuple[MemoryRecord, str | None, str | None]]) -> None:
        """Insert ``(record, crewai id, agent id the memory already had)`` rows at once."""
        if not rows:
            return
        batch = []
        for record, crewai_id, agent in rows:
            path = sc.normalize(record.scope)
            target = sc.binding_for(self._binding, path, agent)
            meta = sc.metadata_for(
                path,
                metadata={**self._binding.metadata, **record.metadata},
                importance=record.importance,
                source=record.source,
                private=record.private,
                crewai_id=crewai_id,
                last_accessed=record.last_accessed,
                embedding=self._foreign(record.embedding),
            )
            batch.append(
                {
                    "text": record.content,
                    **target.scope,
                    "metadata": meta,
                    "categories": list(record.categories),
                    "timestamp": record.created_at,
                }
            )
        self._memory.batch_add(batch)

    def update(self, record: MemoryRecord) -> None:
        """Replace the stored record with ``record.id`` (text changes keep mnemoweave history)."""
        (record,) = _checked([record])
        self._check_kept([record])
        item = self._lookup([record.id]).get(record.id)
        if item is None:
            raise NotFoundError(
                f"no CrewAI record {record.id!r} in this scope", memory_id=record.id
            )
        self._replace(item, record)

    def _replace(self, item: MemoryItem, record: MemoryRecord) -> None:
        path = sc.normalize(record.scope)
        target = sc.binding_for(self._binding, path, item.agent_id)
        same_scope = all(getattr(item, key) == value for key, value in target.scope.items())
        same_categories = sorted({c.strip() for c in record.categories}) == item.categories
        crewai_id = visible_id(item)
        if not (same_scope and same_categories):
            # mnemoweave cannot change a memory's categories or scope ids in place: store the
            # new version under the same CrewAI id first, then erase the old one.
            self._insert([(record, crewai_id, item.agent_id)])
            self._memory.delete(item.id)
            return
        meta = sc.metadata_for(
            path,
            metadata={**self._binding.metadata, **record.metadata},
            importance=record.importance,
            source=record.source,
            private=record.private,
            crewai_id=crewai_id if crewai_id != item.id else None,
            last_accessed=record.last_accessed,
            embedding=self._foreign(record.embedding),
        )
        text = record.content if record.content != item.memory else None
        self._memory.update(item.id, text, metadata=meta)

    def delete(
        self,
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        record_ids: list[str] | None = None,
        older_than: datetime | None = None,
        metadata_filter: dict[str, Any] | None = None,
    ) -> int:
        """Erase the records matching every given criterion; returns how many.

        No criterion erases the whole scope's records; an empty ``record_ids`` list erases
        nothing (it never widens to "everything").
        """
        if record_ids is not None and not record_ids:
            return 0
        filters = sc.all_of(
            sc.under(scope_prefix),
            sc.in_categories(categories),
            sc.with_ids(record_ids) if record_ids else None,
            sc.older_than(older_than),
            sc.with_metadata(metadata_filter),
        )
        return self._erase([item.id for item in self._items(filters)])

    def _erase(self, ids: list[str]) -> int:
        self._kept_dim = _UNKNOWN  # the last kept vectors may be gone
        for start in range(0, len(ids), _PAGE):
            self._memory.batch_delete(ids[start : start + _PAGE])
        return len(ids)

    def reset(self, scope_prefix: str | None = None) -> None:
        """Erase everything under ``scope_prefix``; no prefix erases the whole mnemoweave scope."""
        prefix = sc.under(scope_prefix)
        if prefix is None:
            self._kept_dim = _UNKNOWN
            self._binding.forget_all()
            return
        self._erase([item.id for item in self._items(prefix, include_expired=True)])

    # -- StorageBackend: reads -------------------------------------------------------------
    def search(
        self,
        query_embedding: list[float],
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        metadata_filter: dict[str, Any] | None = None,
        limit: int = 10,
        min_score: float = 0.0,
    ) -> list[tuple[MemoryRecord, float]]:
        """The best records for a query vector made by :attr:`embedder`, best first.

        Vectors :attr:`embedder` made run mnemoweave's hybrid search on their text. A vector
        of the size of the vectors kept from another embedder is scored by exact cosine
        against them; any other vector of mnemoweave's size by exact cosine against freshly
        embedded candidates (slower); a vector of any other size is a mismatch error.
        """
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise ValidationError(f"limit must be an int, got {limit!r}")
        if limit < 1:
            return []
        filters = sc.all_of(
            sc.under(scope_prefix), sc.in_categories(categories), sc.with_metadata(metadata_filter)
        )
        text = self._embedder.text_for(query_embedding)
        if text is not None and text.strip():
            found = self._memory.search(
                text,
                **self._scope,
                limit=limit,
                filters=filters,
                threshold=min_score if min_score > 0 else None,
            ).results
            return [(to_record(item), float(item.score or 0.0)) for item in found]
        stored = self._stored_dim()
        if stored is not None and len(query_embedding) == stored:
            found_kept = kept.scored(
                self._items(sc.all_of(filters, sc.with_kept_vectors(stored))),
                query_embedding,
                limit,
                min_score,
            )
            return [(to_record(item), score) for item, score in found_kept]
        if stored is not None and len(query_embedding) != self._embedder.dim:
            raise EmbeddingDimensionMismatchError(stored, len(query_embedding), kept.HINT)
        return self._cosine(query_embedding, filters, limit, min_score)

    def _cosine(
        self, vector: Sequence[float], filters: Any, limit: int, min_score: float
    ) -> list[tuple[MemoryRecord, float]]:
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self._embedder.dim:
            raise EmbeddingDimensionMismatchError(
                self._embedder.dim,
                int(query.shape[0]),
                "give CrewAI storage.embedder as its embedder",
            )
        norm = float(np.linalg.norm(query))
        items = list(self._items(filters))
        if not items or norm == 0.0:
            return []
        scores = embed_texts(self._memory.embedder, [i.memory for i in items]) @ (query / norm)
        order = np.argsort(-scores, kind="stable")[:limit]
        return [
            (to_record(items[i]), float(scores[i])) for i in order if float(scores[i]) >= min_score
        ]

    def get_record(self, record_id: str) -> MemoryRecord | None:
        """The record with this id in this scope, or ``None``."""
        if not isinstance(record_id, str) or not record_id:
            raise ValidationError(f"record_id must be a non-empty string, got {record_id!r}")
        item = self._lookup([record_id]).get(record_id)
        return None if item is None else to_record(item)

    def list_records(
        self, scope_prefix: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[MemoryRecord]:
        """Records under ``scope_prefix``, newest ``created_at`` first (ties: newest stored)."""
        if limit < 1 or offset < 0:
            return []
        records = [to_record(item) for item in self._items(sc.under(scope_prefix))]
        records.sort(key=lambda r: r.created_at, reverse=True)  # stable: newest stored first
        return records[offset : offset + limit]

    def touch_records(self, record_ids: list[str]) -> None:
        """Set ``last_accessed`` of these records to now (CrewAI calls it after a recall)."""
        found = self._lookup(list(record_ids))
        items = {item.id: item for item in found.values()}
        if not items:
            return
        now = datetime.now(UTC).replace(tzinfo=None).isoformat()
        self._memory.batch_update(
            [
                {"memory_id": mid, "metadata": {**item.metadata, sc.ACCESSED_KEY: now}}
                for mid, item in items.items()
            ]
        )

    def get_scope_info(self, scope: str) -> ScopeInfo:
        """Record count, categories, date range and child scopes of ``scope``."""
        path = sc.normalize(scope)
        count, categories, oldest, newest = 0, set(), None, None
        children: set[str] = set()
        child_prefix = path.rstrip("/") + "/"
        for item in self._items(sc.under(path)):
            record = to_record(item)
            count += 1
            categories.update(record.categories)
            oldest = record.created_at if oldest is None else min(oldest, record.created_at)
            newest = record.created_at if newest is None else max(newest, record.created_at)
            child = record.scope[len(child_prefix) :].split("/", 1)[0]
            if record.scope.startswith(child_prefix) and child:
                children.add(child_prefix + child)
        return ScopeInfo(
            path=path,
            record_count=count,
            categories=sorted(categories),
            oldest_record=oldest,
            newest_record=newest,
            child_scopes=sorted(children),
        )

    def list_scopes(self, parent: str = "/") -> list[str]:
        """Immediate child scopes of ``parent``."""
        return self.get_scope_info(parent).child_scopes

    def list_categories(self, scope_prefix: str | None = None) -> dict[str, int]:
        """Category name -> number of records under ``scope_prefix``."""
        counts: dict[str, int] = {}
        for item in self._items(sc.under(scope_prefix)):
            for category in item.categories:
                counts[category] = counts.get(category, 0) + 1
        return counts

    def count(self, scope_prefix: str | None = None) -> int:
        """Number of records under ``scope_prefix`` (the whole scope by default)."""
        return self._memory.get_all(**self._scope, filters=sc.under(scope_prefix), limit=1).total

    # -- StorageBackend: async twins (mnemoweave's sync calls in a worker thread) ------------
    async def asave(self, records: list[MemoryRecord]) -> None:
        await run_async(self.save, records)

    async def asearch(
        self,
        query_embedding: list[float],
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        metadata_filter: dict[str, Any] | None = None,
        limit: int = 10,
        min_score: float = 0.0,
    ) -> list[tuple[MemoryRecord, float]]:
        return await run_async(
            self.search,
            query_embedding,
            scope_prefix=scope_prefix,
            categories=categories,
            metadata_filter=metadata_filter,
            limit=limit,
            min_score=min_score,
        )

    async def adelete(
        self,
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        record_ids: list[str] | None = None,
        older_than: datetime | None = None,
        metadata_filter: dict[str, Any] | None = None,
    ) -> int:
        return await run_async(
            self.delete,
            scope_prefix=scope_prefix,
            categories=categories,
            record_ids=record_ids,
            older_than=older_than,
            metadata_filter=metadata_filter,
        )


def _checked(records: Any) -> list[MemoryRecord]:
    if isinstance(records, MemoryRecord) or not isinstance(records, Sequence):
        raise ValidationError("records must be a list of crewai MemoryRecord")
    out = list(records)
    for record in out:
        if not isinstance(record, MemoryRecord):
            raise ValidationError(f"expected a crewai MemoryRecord, got {type(record).__name__}")
        if not record.content.strip():
            raise ValidationError(f"record {record.id!r} has empty content")
    return out
