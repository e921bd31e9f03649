"""The rule that maps CrewAI scope paths onto mnemoweave scopes and metadata, written once.

A CrewAI storage or memory built here lives inside one mnemoweave scope: the ``user_id`` /
``agent_id`` / ``run_id`` of its :class:`~mnemoweave_adapters.MemoryBinding`. Every read and
write stays inside it (the tenant boundary). Within that scope:

* the CrewAI path (``/crew/<crew>/agent/<role>/...``) is kept in metadata under
  ``crewai_scope``, and its ancestors under ``crewai_scopes`` so a prefix query is one exact
  condition in SQL (prefixes match whole path segments: ``/crew/a`` never matches ``/crew/ab``);
* when the binding has no ``agent_id``, the segment after ``agent`` in the path (CrewAI's own
  ``<root>/agent/<role>`` convention) becomes the memory's mnemoweave ``agent_id``, so mnemoweave's
  API can ask what one agent learned;
* importance, source and privacy go to ``crewai_importance`` / ``crewai_source`` /
  ``crewai_private``; a record id chosen by CrewAI goes to ``crewai_id``; the record's
  ``last_accessed`` to ``crewai_last_accessed``; a vector the caller made with another
  embedder is kept in ``crewai_embedding`` (size in ``crewai_embedding_dim``);
* a record's own ``created_at`` is the memory's observation time (``valid_from``);
* memories written outside CrewAI (no ``crewai_scope``) sit at the root ``/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from crewai.memory.utils import normalize_scope_path

from mnemoweave import ValidationError
from mnemoweave_adapters import MemoryBinding

SCOPE_KEY = "crewai_scope"
ANCESTORS_KEY = "crewai_scopes"
IMPORTANCE_KEY = "crewai_importance"
SOURCE_KEY = "crewai_source"
PRIVATE_KEY = "crewai_private"
ID_KEY = "crewai_id"
EMBEDDING_KEY = "crewai_embedding"
EMBEDDING_DIM_KEY = "crewai_embedding_dim"
ACCESSED_KEY = "crewai_last_accessed"
RESERVED_KEYS = frozenset(
    {
        SCOPE_KEY,
        ANCESTORS_KEY,
        IMPORTANCE_KEY,
        SOURCE_KEY,
        PRIVATE_KEY,
        ID_KEY,
        EMBEDDING_KEY,
        EMBEDDING_DIM_KEY,
        ACCESSED_KEY,
    }
)
ROOT = "/"


def normalize(path: Any) -> str:
    """A CrewAI scope path in canonical form (``None`` or ``""`` is the root)."""
    if path is None:
        return ROOT
    if not isinstance(path, str):
        raise ValidationError(f"a CrewAI scope must be a path string, got {type(path).__name__}")
    return normalize_scope_path(path.strip())


def ancestors(path: str) -> list[str]:
    """Every non-root prefix of ``path``, itself included: ``/a/b`` -> ``["/a", "/a/b"]``."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def agent_of(path: str) -> str | None:
    """The agent a path belongs to: the segment after ``agent`` (a crew named "agent" aside)."""
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part == "agent" and (i == 0 or parts[i - 1] != "crew"):
            return parts[i + 1]
    return None


def binding_for(
    binding: MemoryBinding, path: str, current_agent: str | None = None
) -> MemoryBinding:
    """The binding a memory at ``path`` is written with (the binding's own ids always win).

    ``current_agent`` is the agent id a stored memory already has; it is kept when the path
    names no agent, so re-saving a memory never moves it out of another framework's agent.
    """
    if binding.agent_id is not None:
        return binding
    agent = agent_of(path) or current_agent
    return binding.with_scope(agent_id=agent) if agent else binding


def metadata_for(
    path: str,
    *,
    metadata: Mapping[str, Any] | None,
    importance: float,
    source: str | None,
    private: bool,
    crewai_id: str | None = None,
    last_accessed: datetime | None = None,
    embedding: Sequence[float] | None = None,
) -> dict[str, Any]:
    """The mnemoweave metadata of a CrewAI memory: the caller's keys plus the reserved ones."""
    extra = dict(metadata or {})
    clash = sorted(RESERVED_KEYS.intersection(extra))
    if clash:
        raise ValidationError(f"metadata keys {clash} are reserved by mnemoweave-crewai")
    if isinstance(importance, bool) or not isinstance(importance, int | float):
        raise ValidationError(f"importance must be a number in [0, 1], got {importance!r}")
    if not 0.0 <= float(importance) <= 1.0:
        raise ValidationError(f"importance must be in [0, 1], got {importance!r}")
    if source is not None and not isinstance(source, str):
        raise ValidationError(f"source must be a string or None, got {source!r}")
    extra[SCOPE_KEY] = path
    extra[ANCESTORS_KEY] = ancestors(path)
    extra[IMPORTANCE_KEY] = float(importance)
    if source:
        extra[SOURCE_KEY] = source
    if private:
        extra[PRIVATE_KEY] = True
    if crewai_id:
        extra[ID_KEY] = crewai_id
    if last_accessed is not None:
        extra[ACCESSED_KEY] = last_accessed.isoformat()
    if embedding is not None:
        extra[EMBEDDING_KEY] = [float(x) for x in embedding]
        extra[EMBEDDING_DIM_KEY] = len(extra[EMBEDDING_KEY])
    return extra


def split_metadata(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(caller's metadata, reserved keys)`` of a stored memory."""
    own = {k: v for k, v in metadata.items() if k not in RESERVED_KEYS}
    reserved = {k: v for k, v in metadata.items() if k in RESERVED_KEYS}
    return own, reserved


# -- filters over mnemoweave's filter grammar ------------------------------------------------
def all_of(*parts: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The AND of the given filters (``None`` entries are ignored; no filter at all is None)."""
    given = [dict(p) for p in parts if p]
    if not given:
        return None
    return given[0] if len(given) == 1 else {"AND": given}


def under(path: str | None) -> dict[str, Any] | None:
    """Memories at ``path`` or below it (``None`` or the root: no restriction)."""
    prefix = normalize(path)
    return None if prefix == ROOT else {ANCESTORS_KEY: {"contains": prefix}}


def in_categories(categories: Sequence[str] | None) -> dict[str, Any] | None:
    """Memories carrying at least one of ``categories`` (CrewAI's any-of semantics)."""
    if not categories:
        return None
    if isinstance(categories, str):
        raise ValidationError("categories must be a list of strings, not a string")
    return {"categories": {"in": list(categories)}}


def with_metadata(metadata_filter: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Memories whose metadata equals every given key/value."""
    if not metadata_filter:
        return None
    if not isinstance(metadata_filter, Mapping):
        raise ValidationError("metadata_filter must be a dict of metadata keys to values")
    return {"metadata": dict(metadata_filter)}


def older_than(when: datetime | None) -> dict[str, Any] | None:
    """Records created before ``when`` (their ``created_at``: mnemoweave's ``valid_from``).

    Naive datetimes are UTC, as in CrewAI.
    """
    return None if when is None else {"valid_from": {"lt": when}}


def with_kept_vectors(dim: int | None = None) -> dict[str, Any]:
    """Records carrying a caller's vector (of ``dim`` values, when given)."""
    return {EMBEDDING_DIM_KEY: dim if dim is not None else {"gt": 0}}


def with_ids(ids: Sequence[str]) -> dict[str, Any]:
    """Memories whose CrewAI id or mnemoweave id is one of ``ids``."""
    wanted = list(ids)
    for value in wanted:
        if not isinstance(value, str) or not value:
            raise ValidationError(f"record ids must be non-empty strings, got {value!r}")
    return {"OR": [{ID_KEY: {"in": wanted}}, {"id": {"in": wanted}}]}


def visible_to(source: str | None, include_private: bool) -> dict[str, Any] | None:
    """CrewAI's privacy rule: a private memory is seen only by its own source."""
    if include_private:
        return None
    public = {PRIVATE_KEY: {"ne": True}}
    if source is None:
        return public
    return {"OR": [public, {SOURCE_KEY: source}]}
