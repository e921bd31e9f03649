"""The checks behind ``mnemoweave doctor``: config, embedder model, LLM endpoint, store.

Each check returns a :class:`Check` instead of raising, so one broken part never hides the
others; a check that cannot run because an earlier one failed is ``skip``, as is the LLM check
when no LLM is configured (memories are then stored verbatim, which is a valid setup).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from .backends import check_backend
from .config import MemoryConfig, build_config
from .embed import Embedder, get_embedder
from .errors import MnemoweaveError
from .llm import LLMConfig

Status = Literal["ok", "fail", "skip"]

#: Seconds the LLM endpoint gets to answer ``GET /models``.
LLM_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    status: Status
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def check_config(values: dict[str, Any]) -> tuple[Check, MemoryConfig | None]:
    """Validate the store's options; the config is ``None`` when they are invalid."""
    try:
        config = build_config(**values)
    except MnemoweaveError as exc:
        return Check("config", "fail", _error(exc)), None
    embedder = config.embedder if isinstance(config.embedder, str) else "local"
    try:
        backend = check_backend(config.backend)
    except MnemoweaveError as exc:
        return Check("config", "fail", _error(exc)), None
    detail = f"store {config.data_dir()}, backend {backend}, embedder {config.embedder or embedder}"
    return Check("config", "ok", detail), config


def check_embedder(config: MemoryConfig | None) -> tuple[Check, Embedder | None]:
    """Build the embedder (the local one finds and loads its weights) and embed one text."""
    if config is None:
        return Check("embedder", "skip", "needs a valid config"), None
    try:
        embedder = get_embedder(config.embedder)
        vectors = embedder.embed(["mnemoweave doctor"])
    except Exception as exc:  # any provider failure is the finding, not a crash
        return Check("embedder", "fail", _error(exc)), None
    source = getattr(embedder, "source", None)
    where = f", weights from {source} ({getattr(embedder, 'model_dir', '')})" if source else ""
    dim = int(vectors.shape[1]) if getattr(vectors, "ndim", 0) == 2 else embedder.dim
    return Check("embedder", "ok", f"{embedder.model_id}, {dim}-d{where}"), embedder


def check_llm(model: str | None, base_url: str | None, timeout: float = LLM_TIMEOUT) -> Check:
    """``GET {base_url}/models`` on the configured endpoint: reachable and accepting the key."""
    if not model and not base_url:
        return Check("llm", "skip", "no LLM configured (memories are stored verbatim)")
    try:
        spec: dict[str, Any] = {"base_url": base_url} if base_url else {}
        if model:
            spec["model"] = model
        llm = LLMConfig.from_any(spec)
        key = llm.resolved_api_key()
    except MnemoweaveError as exc:
        return Check("llm", "fail", _error(exc))
    url = llm.endpoint.rstrip("/") + "/models"
    try:
        reply = httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout)
    except httpx.HTTPError as exc:
        return Check("llm", "fail", f"{url} unreachable: {type(exc).__name__}: {exc}")
    if reply.status_code in (401, 403):
        return Check("llm", "fail", f"{url} refused the API key (HTTP {reply.status_code})")
    if reply.status_code >= 500:
        return Check("llm", "fail", f"{url} answered HTTP {reply.status_code}")
    listed = ""
    if reply.status_code == 200:
        try:
            names = {m.get("id") for m in reply.json().get("data", [])}
        except (ValueError, AttributeError):
            names = set()
        if names:
            has = "listed" if llm.model in names else "not in its /models list"
            listed = f", model {llm.model} {has}"
    return Check("llm", "ok", f"{llm.endpoint} answered HTTP {reply.status_code}{listed}")


def _writable_ancestor(path: Path) -> Path | None:
    for folder in (path, *path.parents):
        if folder.exists():
            return folder if os.access(folder, os.W_OK | os.X_OK) else None
    return None


def check_store(config: MemoryConfig | None, embedder: Embedder | None) -> Check:
    """Open the store (read its schema, catch up its index) and count its memories."""
    if config is None or embedder is None:
        return Check("store", "skip", "needs a valid config and a working embedder")
    folder = config.data_dir()
    if not (folder / "mnemoweave.db").exists():
        if _writable_ancestor(folder) is None:
            return Check("store", "fail", f"no store at {folder} and it cannot be created there")
        return Check("store", "ok", f"no store at {folder} yet (created on the first write)")
    from .memory import Memory

    try:
        mem = Memory(config.path or str(folder), embedder=embedder)
    except Exception as exc:  # a dimension mismatch, a locked or damaged database...
        return Check("store", "fail", _error(exc))
    try:
        scopes = mem.scopes().results
        total = sum(s.count for s in scopes)
    except Exception as exc:
        return Check("store", "fail", _error(exc))
    finally:
        mem.close()
    return Check("store", "ok", f"{folder}: {total} memories in {len(scopes)} scopes")


def run_checks(
    values: dict[str, Any], *, llm_model: str | None = None, llm_base_url: str | None = None
) -> list[Check]:
    """Every check, in order; ``values`` are ``Memory`` options (``path``, ``embedder``...)."""
    config_check, config = check_config(values)
    embedder_check, embedder = check_embedder(config)
    return [
        config_check,
        embedder_check,
        check_llm(llm_model, llm_base_url),
        check_store(config, embedder),
    ]
