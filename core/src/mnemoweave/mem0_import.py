"""Import memories dumped from mem0, keeping their ids and timestamps.

Reads what mem0 hands out: the JSON of ``Memory.get_all()`` (``{"results": [...]}``, with or
without ``"relations"``), a bare list of memories, the platform's paginated pages
(``{"count", "next", "previous", "results"}``, one page or a list of pages), a platform export
whose schema is a list of memories (``{"memories": [...]}``), or JSON Lines of memories.

Each mem0 item (``id``, ``memory``, ``hash``, ``metadata``, ``categories``, ``created_at``,
``updated_at``, ``user_id``/``agent_id``/``run_id``, ``actor_id``, ``role``, ``immutable``,
``expiration_date``; the platform's ``app_id`` goes into ``metadata``) becomes one record of
:mod:`mnemoweave.transfer` with an ``ADD`` history event at its ``created_at``; mem0's
``hash`` is recomputed and its other fields (``score``, ``owner``, ...) are dropped. The import
is idempotent like the JSONL one: a re-run skips every id already in the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ._time import optional_epoch, to_epoch
from .errors import ValidationError
from .memory import Memory
from .transfer import ImportReport, Progress, import_records

__all__ = ["FORMAT", "import_mem0", "is_mem0_dump", "read_mem0", "to_records"]

FORMAT = "mem0"
_SCOPES = ("user_id", "agent_id", "run_id")
_LISTS = ("results", "memories")


def is_mem0_dump(path: str | Path) -> bool:
    """Whether ``path`` holds one of the mem0 shapes this module reads (not a mnemoweave
    export); reads the file once."""
    try:
        _items(_load(Path(path)), Path(path))
    except ValidationError:
        return False
    return True


def read_mem0(path: str | Path) -> list[dict[str, Any]]:
    """The mem0 memory items of a dump file, in file order."""
    path = Path(path)
    return _items(_load(path), path)


def to_records(
    items: list[dict[str, Any]],
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
) -> Iterator[dict[str, Any]]:
    """mem0 items as :mod:`mnemoweave.transfer` records; ``user_id``/``agent_id``/``run_id``
    are the scope of items that carry none (platform items listed by filter often don't)."""
    fallback = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
    for n, item in enumerate(items, start=1):
        yield _record(item, n, fallback)


def import_mem0(
    memory: Memory,
    path: str | Path,
    *,
    batch_size: int = 1000,
    progress: Progress | None = None,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
) -> ImportReport:
    """Load a mem0 dump into ``memory``; ids the store already holds are skipped."""
    items = read_mem0(path)
    records = to_records(items, user_id=user_id, agent_id=agent_id, run_id=run_id)
    return import_records(memory, records, batch_size=batch_size, progress=progress)


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path} is not UTF-8 text: {exc.reason}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValidationError(
                    f"{path}:{number}: neither a JSON document nor JSON Lines ({exc.msg})"
                ) from exc
    return lines


def _items(data: Any, path: Path) -> list[dict[str, Any]]:
    if isinstance(data, Mapping):
        data = _unwrap(data, path)
    if not isinstance(data, list):
        raise ValidationError(f"{path}: not a mem0 dump (expected a list or {{'results': [...]}})")
    if data and all(isinstance(d, Mapping) and isinstance(d.get("results"), list) for d in data):
        data = [item for page in data for item in _unwrap(page, path)]  # a list of pages
    for n, item in enumerate(data, start=1):
        if not isinstance(item, Mapping) or not _looks_like_item(item):
            raise ValidationError(
                f"{path}: item {n} is not a mem0 memory (needs 'id' and 'memory')"
            )
    return [dict(item) for item in data]


def _unwrap(data: Mapping[str, Any], path: Path) -> list[Any]:
    if data.get("format") is not None:
        raise ValidationError(f"{path}: a {data['format']!r} file, not a mem0 dump")
    for key in _LISTS:
        if isinstance(data.get(key), list):
            return list(data[key])
    raise ValidationError(f"{path}: not a mem0 dump (no 'results' or 'memories' list)")


def _looks_like_item(item: Mapping[str, Any]) -> bool:
    return "id" in item and ("memory" in item or "data" in item)


def _text(item: Mapping[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{where}: {key!r} must be a string, got {type(value).__name__}")
    return value


def _record(item: Mapping[str, Any], n: int, fallback: Mapping[str, str | None]) -> dict[str, Any]:
    where = f"mem0 item {n}"
    memory_id = item.get("id")
    if isinstance(memory_id, int) and not isinstance(memory_id, bool):
        memory_id = str(memory_id)
    if not isinstance(memory_id, str) or not memory_id.strip():
        raise ValidationError(f"{where}: 'id' must be a non-empty string")
    where = f"mem0 item {n} ({memory_id})"
    text = _text(item, "memory", where) or _text(item, "data", where)
    if text is None:
        raise ValidationError(f"{where}: 'memory' must be a non-empty string")
    scope = {k: _text(item, k, where) for k in _SCOPES}
    if not any(scope.values()):
        scope = dict(fallback)
    if not any(scope.values()):
        raise ValidationError(
            f"{where} has no user_id, agent_id or run_id; pass --user-id (or --agent-id, "
            "--run-id) to import such items into one scope"
        )
    created = item.get("created_at") or item.get("updated_at")
    if created is None:
        raise ValidationError(f"{where}: needs a 'created_at' timestamp")
    created_at = to_epoch(created, name=f"{where}: created_at")
    updated = item.get("updated_at")
    updated_at = created_at if updated is None else to_epoch(updated, name=f"{where}: updated_at")
    metadata = item.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise ValidationError(f"{where}: 'metadata' must be an object")
    metadata = dict(metadata)
    if item.get("app_id") is not None:
        metadata.setdefault("app_id", item["app_id"])
    categories = item.get("categories") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise ValidationError(f"{where}: 'categories' must be a list of strings")
    actor_id, role = _text(item, "actor_id", where), _text(item, "role", where)
    return {
        "id": memory_id,
        "memory": text,
        **scope,
        "actor_id": actor_id,
        "role": role,
        "metadata": metadata,
        "categories": categories,
        "memory_type": _text(item, "memory_type", where),
        "immutable": bool(item.get("immutable") or False),
        "status": 0,
        "created_at": created_at,
        "updated_at": max(updated_at, created_at),
        "valid_from": created_at,
        "valid_to": None,
        "recorded_at": created_at,
        "expired_at": None,
        "expires_at": optional_epoch(item.get("expiration_date"), name=f"{where}: expiration_date"),
        "versions": [],
        "history": [
            {
                "event": "ADD",
                "old_memory": None,
                "new_memory": text,
                "actor_id": actor_id,
                "role": role,
                "created_at": created_at,
                "is_deleted": False,
            }
        ],
    }
