"""``MnemoweaveStore``: a LangGraph ``BaseStore`` whose items are mnemoweave memories.

Each item is one raw memory: its text is what the ``index`` config selects from the value
(by default LangMem's ``content``, else the whole value as JSON; see :mod:`._index`), so
``search(..., query=...)`` is mnemoweave's hybrid search; the namespace, key and the value
itself live in the memory's metadata, so ``get`` returns exactly what was put. Namespaces
map onto mnemoweave scopes by the rule in :mod:`._namespaces`. Like LangGraph's own stores,
a batch runs its reads before its writes and the last write to a (namespace, key) wins; a
batch's puts cost one embedding call and one transaction per kind of write (insert, update,
delete), and concurrent ``abatch`` calls are coalesced into such batches (:mod:`._coalesce`).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)

from mnemoweave import AsyncMemory, ConfigurationError, Memory, MemoryItem, ValidationError
from mnemoweave.remote import AsyncMemoryClient, MemoryClient

from ._coalesce import Coalescer
from ._filters import Predicate, split_filter
from ._index import IndexSpec, item_text, parse_index, tokenize, whole_json
from ._namespaces import (
    INDEXED,
    KEY,
    NamespaceScopes,
    check_namespace,
    is_store_item,
    item_metadata,
    label_filter,
    namespace_of,
    value_of,
)

_PAGE = 500  # rows fetched per get_all call when Python has to see every candidate
_MAX_LIMIT = 100_000  # mnemoweave's largest page


class MnemoweaveStore(BaseStore):
    """A LangGraph store on a mnemoweave ``Memory``: ``StateGraph(...).compile(store=...)``.

    ``memory`` is a ``Memory`` / ``AsyncMemory`` (or a remote client), or a data directory
    (``None``: the default one) for the store to open a ``Memory`` on. ``index`` is
    LangGraph's config: ``fields`` (or ``text_fields``) pick the value paths whose text is
    embedded and searched; ``embed`` (an ``Embeddings``, a function, or ``"local"`` /
    ``"hash"``) embeds with that instead of mnemoweave's default -- the store then opens its
    own ``Memory`` on it, or checks that the given one embeds with the same model.
    ``agent_id`` names the mnemoweave agent that owns the store's items; ``users_root`` is
    the first namespace label (or labels) whose second label is a mnemoweave ``user_id``
    (``("users", "alice", ...)`` and LangMem's ``("memories", "alice")`` are
    ``user_id="alice"``). ``coalesce=False`` runs every ``abatch`` on its own. No TTLs.
    """

    supports_ttl = False

    def __init__(
        self,
        memory: Memory | AsyncMemory | MemoryClient | AsyncMemoryClient | str | Path | None = None,
        *,
        index: Mapping[str, Any] | None = None,
        agent_id: str = "langgraph",
        users_root: str | Sequence[str] | None = ("users", "memories"),
        coalesce: bool = True,
    ) -> None:
        spec = parse_index(index)
        self._owned = memory is None or isinstance(memory, str | Path)
        memory = _open_memory(memory, spec)
        self.memory: Memory | MemoryClient = memory
        self.scopes = NamespaceScopes(agent_id, users_root)
        self.index_config = spec.config
        self.embeddings = spec.embeddings
        self._fields = spec.fields
        self._write_lock = threading.Lock()
        self.coalesce = coalesce
        self._coalescers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Coalescer] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"MnemoweaveStore(path={str(self.memory.path)!r}, agent_id={self.scopes.agent_id!r})"

    def close(self) -> None:
        """Close the ``Memory`` the store opened itself (one passed in stays open)."""
        if self._owned:
            self.memory.close()

    def __enter__(self) -> MnemoweaveStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- mapping helpers (public so apps can line up other adapters with the store) ---------
    def scope_for(self, namespace: Sequence[str]) -> dict[str, Any]:
        """The mnemoweave scope (``agent_id`` and ``user_id``) items of ``namespace`` live in."""
        return self.scopes.item_scope(check_namespace(namespace, allow_empty=False))

    def namespace_for(self, user_id: str) -> tuple[str, ...]:
        """The namespace prefix whose items carry mnemoweave ``user_id`` (inverse of the rule)."""
        return self.scopes.tenant(user_id)

    # -- BaseStore -------------------------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ``ops``: reads first (in order), then the puts (last write per key wins).

        Gets are looked up together, identical searches and listings run once, and all puts
        are embedded in one call and written in one transaction per kind of write.
        """
        ops = list(ops)
        results: list[Result] = [None] * len(ops)
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        gets: list[tuple[int, tuple[str, ...], str]] = []
        shared: dict[str, list[int]] = defaultdict(list)
        for i, op in enumerate(ops):
            if isinstance(op, GetOp):
                namespace = check_namespace(op.namespace, allow_empty=False)
                gets.append((i, namespace, _check_key(op.key)))
            elif isinstance(op, SearchOp | ListNamespacesOp):
                shared[repr(op)].append(i)
            elif isinstance(op, PutOp):
                namespace = check_namespace(op.namespace, allow_empty=False)
                puts[(namespace, _check_key(op.key))] = op
            else:
                raise ValidationError(f"unknown store operation {type(op).__name__}")
        if gets:
            found = self._lookup({(ns, key) for _, ns, key in gets})
            for i, ns, key in gets:
                rows = found.get((ns, key))
                results[i] = _item(rows[0], Item) if rows else None
        for positions in shared.values():
            read = ops[positions[0]]
            value: list[Any] = (
                self._search(read) if isinstance(read, SearchOp) else self._list_namespaces(read)  # type: ignore[arg-type]
            )
            for i in positions:
                results[i] = value if i == positions[0] else list(value)
        if puts:
            self._apply(puts)
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async twin of :meth:`batch`; concurrent calls share worker-thread batches."""
        ops = list(ops)
        if not self.coalesce:
            return await asyncio.to_thread(self.batch, ops)
        loop = asyncio.get_running_loop()
        coalescer = self._coalescers.get(loop)
        if coalescer is None:
            coalescer = self._coalescers[loop] = Coalescer(self.batch)
        _precheck(ops)  # a bad op fails its own caller, never a shared batch
        return await coalescer.submit(ops)

    # -- reads -----------------------------------------------------------------------------
    def _lookup(
        self, idents: Iterable[tuple[tuple[str, ...], str]]
    ) -> dict[tuple[tuple[str, ...], str], list[MemoryItem]]:
        """The rows of each (namespace, key), newest first, one query per scope and chunk.

        More than one row per item only after a cross-process race (see ``_apply``).
        """
        by_scope: dict[str, set[tuple[tuple[str, ...], str]]] = defaultdict(set)
        for namespace, key in idents:
            by_scope[self.scopes.user_id(namespace)].add((namespace, key))
        out: dict[tuple[tuple[str, ...], str], list[MemoryItem]] = defaultdict(list)
        for user_id, wanted in by_scope.items():
            keys = sorted({key for _, key in wanted})
            for start in range(0, len(keys), _PAGE):
                chunk = keys[start : start + _PAGE]
                flt: dict[str, Any] = {KEY: chunk[0] if len(chunk) == 1 else {"in": chunk}}
                rows = self.memory.get_all(
                    agent_id=self.scopes.agent_id, user_id=user_id, filters=flt, limit=_MAX_LIMIT
                ).results
                for row in rows:
                    if is_store_item(row):
                        ident = (namespace_of(row), row.metadata[KEY])
                        if ident in wanted:
                            out[ident].append(row)
        return out

    def _search(self, op: SearchOp) -> list[SearchItem]:
        prefix = check_namespace(op.namespace_prefix, allow_empty=True)
        limit, offset = _window(op.limit, op.offset)
        if limit == 0:
            return []
        scope = self.scopes.scope(prefix)
        pushed, residual = split_filter(op.filter)
        base = {KEY: "*", **label_filter(prefix)}  # "*": only items a store wrote
        query = op.query.strip() if isinstance(op.query, str) else ""
        if not query:
            listed = self._listing(scope, _and(base, pushed), residual, offset, limit)
            return [_item(row, SearchItem) for row in listed]
        ranked = self._ranked(
            query, scope, _and({**base, INDEXED: True}, pushed), residual, offset + limit
        )
        page = [_item(row, SearchItem, score=row.score) for row in ranked[offset : offset + limit]]
        if len(page) < limit and len(ranked) < offset + limit:
            # Items put with index=False (or no text at the indexed paths) follow, unscored.
            rest = self._listing(
                scope,
                _and({**base, INDEXED: False}, pushed),
                residual,
                max(0, offset - len(ranked)),
                limit - len(page),
            )
            page.extend(_item(row, SearchItem) for row in rest)
        return page

    def _ranked(
        self,
        query: str,
        scope: dict[str, Any],
        filters: dict[str, Any],
        residual: Predicate | None,
        wanted: int,
    ) -> list[MemoryItem]:
        """Indexed candidates best first: ``wanted`` of them, or all when fewer match."""
        if residual is None:
            size = min(wanted, _MAX_LIMIT)
        else:  # Python decides part of the filter: rank every candidate, then filter
            size = max(
                1, min(self.memory.get_all(**scope, filters=filters, limit=1).total, _MAX_LIMIT)
            )
        rows = self.memory.search(query, **scope, filters=filters, limit=size).results
        return _unique(
            r for r in rows if is_store_item(r) and (residual is None or residual(value_of(r)))
        )

    def _listing(
        self,
        scope: dict[str, Any],
        filters: dict[str, Any],
        residual: Predicate | None,
        offset: int,
        limit: int,
    ) -> list[MemoryItem]:
        """Matching items newest first, ``[offset:offset + limit]``."""
        if residual is None:
            size = min(limit, _MAX_LIMIT)
            rows = self.memory.get_all(**scope, filters=filters, limit=size, offset=offset)
            return _unique(r for r in rows.results if is_store_item(r))
        out: list[MemoryItem] = []
        for row in _unique(self._scan(scope, filters)):
            if residual(value_of(row)):
                out.append(row)
                if len(out) >= offset + limit:
                    break
        return out[offset:]

    def _scan(self, scope: dict[str, Any], filters: dict[str, Any]) -> Iterator[MemoryItem]:
        """Every matching store item, newest first, a page at a time."""
        offset = 0
        while True:
            page = self.memory.get_all(**scope, filters=filters, limit=_PAGE, offset=offset)
            yield from (r for r in page.results if is_store_item(r))
            offset += _PAGE
            if offset >= page.total or not page.results:
                return

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        limit, offset = _window(op.limit, op.offset)
        conditions = list(op.match_conditions or ())
        for condition in conditions:
            if condition.match_type not in ("prefix", "suffix"):
                raise ValidationError(f"unknown match_type {condition.match_type!r}")
            check_namespace(condition.path, allow_empty=True)
        if op.max_depth is not None and (
            isinstance(op.max_depth, bool) or not isinstance(op.max_depth, int) or op.max_depth < 1
        ):
            raise ValidationError(f"max_depth must be a positive int or None, got {op.max_depth!r}")
        fixed = _fixed_prefix(conditions)
        scope = self.scopes.scope(fixed)
        filters = {KEY: "*", **label_filter(_prefix_labels(conditions))}
        found: set[tuple[str, ...]] = set()
        for row in self._scan(scope, filters):
            namespace = namespace_of(row)
            if all(_namespace_matches(c, namespace) for c in conditions):
                found.add(namespace if op.max_depth is None else namespace[: op.max_depth])
        return sorted(found)[offset : offset + limit]

    # -- writes ----------------------------------------------------------------------------
    def _apply(self, puts: dict[tuple[tuple[str, ...], str], PutOp]) -> None:
        """Insert new items, update changed ones in place (history kept), erase deletions."""
        prepared = []
        for (namespace, key), op in puts.items():
            if op.ttl is not None:
                raise NotImplementedError(
                    "MnemoweaveStore does not support TTLs; put without ttl (or ttl=None)"
                )
            prepared.append((namespace, key, None if op.value is None else self._record(op)))
        with self._write_lock:
            existing = self._lookup(puts)
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            erase: list[str] = []
            for namespace, key, record in prepared:
                rows = existing.get((namespace, key), [])
                if record is None:
                    erase.extend(row.id for row in rows)
                elif rows:
                    change = {"memory_id": rows[0].id, "metadata": record["metadata"]}
                    if rows[0].memory != record["text"]:  # unchanged text: nothing to embed
                        change["text"] = record["text"]
                    updates.append(change)
                    erase.extend(row.id for row in rows[1:])  # heal a cross-process duplicate
                else:
                    inserts.append({**self.scopes.item_scope(namespace), **record})
            if updates:
                self.memory.batch_update(updates)
            if inserts:
                self.memory.batch_add(inserts)
            if erase:
                self.memory.batch_delete(erase)

    def _record(self, op: PutOp) -> dict[str, Any]:
        """The memory text and metadata for a put (validated before anything is written)."""
        value = _check_value(op.value)
        whole = whole_json(value)
        text = ""
        if op.index is not False:
            text = item_text(value, self._fields if op.index is None else tokenize(op.index))
        namespace = tuple(op.namespace)
        meta = item_metadata(namespace, op.key, value, indexed=bool(text))
        return {"text": text or whole, "metadata": meta}


# -- helpers ---------------------------------------------------------------------------------
def _open_memory(memory: Any, spec: IndexSpec) -> Memory | MemoryClient:
    """The Memory the store works on: the given one (checked), or one it opens."""
    if memory is None or isinstance(memory, str | Path):
        return Memory(memory, embedder=spec.embedder) if spec.embedder else Memory(memory)
    if isinstance(memory, AsyncMemory | AsyncMemoryClient):
        memory = memory.sync
    if not isinstance(memory, Memory | MemoryClient):
        raise ValidationError(
            "MnemoweaveStore needs a mnemoweave Memory or AsyncMemory (or a remote client), "
            f"or a data directory, got {type(memory).__name__}"
        )
    if spec.embedder is not None and _model_id(memory) != spec.embedder.model_id:
        raise ConfigurationError(
            f"index embed is {spec.embedder.model_id!r} but this Memory embeds with "
            f"{_model_id(memory)!r}: pass a data directory (MnemoweaveStore(path, index=...)) "
            "or build the Memory with Memory(path, embedder=langchain_embedder(embed))"
        )
    dims = (spec.config or {}).get("dims")
    known = _embedder_dim(memory)
    if dims is not None and known and dims != known:
        raise ConfigurationError(
            f"index dims={dims} but the Memory's embedder makes {known}-d vectors"
        )
    return memory


def _model_id(memory: Memory | MemoryClient) -> str | None:
    try:
        return str(memory.embedder.model_id)
    except Exception:  # a remote client does not expose the server's embedder
        return None


def _embedder_dim(memory: Memory | MemoryClient) -> int | None:
    try:
        return int(memory.embedder.dim)
    except Exception:  # remote embedders learn their size on first use
        return None


def _check_value(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"store values are dicts, got {type(value).__name__}")
    for field in value:
        if not isinstance(field, str):
            raise ValidationError(f"store value keys must be strings, got {field!r}")
    return value


def _precheck(ops: list[Any]) -> None:
    """Refuse malformed ops before they join a shared batch (``batch`` checks the rest)."""
    for op in ops:
        if isinstance(op, PutOp):
            check_namespace(op.namespace, allow_empty=False)
            _check_key(op.key)
            if op.value is not None:
                whole_json(_check_value(op.value))
            if op.ttl is not None:
                raise NotImplementedError(
                    "MnemoweaveStore does not support TTLs; put without ttl (or ttl=None)"
                )
        elif isinstance(op, GetOp):
            check_namespace(op.namespace, allow_empty=False)
            _check_key(op.key)
        elif isinstance(op, SearchOp):
            check_namespace(op.namespace_prefix, allow_empty=True)
            _window(op.limit, op.offset)
            split_filter(op.filter)
        elif not isinstance(op, ListNamespacesOp):
            raise ValidationError(f"unknown store operation {type(op).__name__}")


def _check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise ValidationError(f"store keys are strings, got {type(key).__name__}")
    return key


def _window(limit: Any, offset: Any) -> tuple[int, int]:
    for name, value in (("limit", limit), ("offset", offset)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(f"{name} must be an int >= 0, got {value!r}")
    return limit, offset


def _and(base: dict[str, Any], pushed: list[dict[str, Any]]) -> dict[str, Any]:
    return {**base, "AND": pushed} if pushed else base


def _unique(rows: Iterable[MemoryItem]) -> list[MemoryItem]:
    """Rows with one per (namespace, key): the first seen, i.e. the best or newest."""
    seen: set[tuple[tuple[str, ...], str]] = set()
    out = []
    for row in rows:
        ident = (namespace_of(row), row.metadata[KEY])
        if ident not in seen:
            seen.add(ident)
            out.append(row)
    return out


def _item(row: MemoryItem, cls: Callable[..., Any], **extra: Any) -> Any:
    return cls(
        namespace=namespace_of(row),
        key=row.metadata[KEY],
        value=value_of(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
        **extra,
    )


def _fixed_prefix(conditions: list[MatchCondition]) -> tuple[str, ...]:
    """The wildcard-free leading labels every listed namespace must start with."""
    best: tuple[str, ...] = ()
    for condition in conditions:
        if condition.match_type == "prefix":
            labels = []
            for label in condition.path:
                if label == "*":
                    break
                labels.append(label)
            best = max(best, tuple(labels), key=len)
    return best


def _prefix_labels(conditions: list[MatchCondition]) -> list[str | None]:
    """Per-position labels fixed by prefix conditions (``None`` where a wildcard sits)."""
    labels: list[str | None] = []
    for condition in conditions:
        if condition.match_type != "prefix":
            continue
        for i, label in enumerate(condition.path):
            if i == len(labels):
                labels.append(None)
            if label != "*":
                labels[i] = label
    return labels


def _namespace_matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = tuple(condition.path)
    if not path:
        return True
    if len(namespace) < len(path):
        return False
    part = namespace[: len(path)] if condition.match_type == "prefix" else namespace[-len(path) :]
    return all(p == "*" or p == label for p, label in zip(path, part))
