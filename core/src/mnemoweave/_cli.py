"""The ``mnemoweave`` command: look at, change, export and import a local memory store.

This module holds the commands on single memories and scopes; ``export``/``import`` live in
``_cli_transfer``, ``serve``/``mcp``/``keys`` in ``_cli_server`` and ``doctor`` in
``_cli_doctor``. Exit codes are listed in ``_cli_common``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ._cli_common import (
    EXIT_FAILURE,
    EXIT_STORE,
    AgentOpt,
    BackendOpt,
    EmbedderOpt,
    JsonOpt,
    PathOpt,
    RunOpt,
    UserOpt,
    app,
    dump,
    emit,
    open_memory,
    out,
    table,
)
from .errors import ValidationError
from .memory import Memory

__all__ = ["app", "main"]


@app.command()
def add(
    text: str,
    user_id: UserOpt = None,
    agent_id: AgentOpt = None,
    run_id: RunOpt = None,
    metadata: Annotated[str | None, typer.Option(help="a JSON object")] = None,
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Store TEXT verbatim as one memory of the scope."""
    with open_memory(path, embedder, backend) as mem:
        meta = _json_object(metadata)
        result = mem.add(
            text, user_id=user_id, agent_id=agent_id, run_id=run_id, metadata=meta, infer=False
        )
        events = [dict(e) for e in result["results"]]
        emit(events, as_json, lambda: table(events, ["id", "event", "memory"]))


def _json_object(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"--metadata is not valid JSON: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise ValidationError("--metadata must be a JSON object")
    return value


@app.command()
def search(
    query: str,
    user_id: UserOpt = None,
    agent_id: AgentOpt = None,
    run_id: RunOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-k")] = 10,
    explain: Annotated[bool, typer.Option(help="show dense, keyword and fused scores")] = False,
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find the scope's memories closest to QUERY."""
    with open_memory(path, embedder, backend) as mem:
        found = mem.search(
            query, user_id=user_id, agent_id=agent_id, run_id=run_id, limit=limit, explain=explain
        )
        rows = [dump(r) for r in found.results]
        columns = ["id", "score", "memory"] + (["explain"] if explain else [])
        emit(rows, as_json, lambda: table(rows, columns))


@app.command("list")
def list_(
    user_id: UserOpt = None,
    agent_id: AgentOpt = None,
    run_id: RunOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 100,
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The scope's memories, newest first."""
    with open_memory(path, embedder, backend) as mem:
        found = mem.get_all(user_id=user_id, agent_id=agent_id, run_id=run_id, limit=limit)
        rows = [dump(r) for r in found.results]
        emit(
            {"results": rows, "total": found.total},
            as_json,
            lambda: table(rows, ["id", "created_at", "memory"]),
        )


@app.command()
def show(
    memory_id: str,
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One memory with all its fields."""
    with open_memory(path, embedder, backend) as mem:
        item = dump(mem.get(memory_id))
        emit(
            item,
            as_json,
            lambda: table([{"field": k, "value": v} for k, v in item.items()], ["field", "value"]),
        )


@app.command()
def history(
    memory_id: str,
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every recorded event of a memory, oldest first."""
    with open_memory(path, embedder, backend) as mem:
        rows = [dump(h) for h in mem.history(memory_id)]
        columns = ["created_at", "event", "old_memory", "new_memory"]
        emit(rows, as_json, lambda: table(rows, columns))


@app.command()
def update(
    memory_id: str,
    text: str,
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace a memory's text (its id stays, the old text becomes a version)."""
    with open_memory(path, embedder, backend) as mem:
        item = dump(mem.update(memory_id, text))
        emit(item, as_json, lambda: out.print(f"updated {memory_id}"))


@app.command()
def delete(
    memory_id: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete a memory (asks first unless --yes)."""
    with open_memory(path, embedder, backend) as mem:
        mem.get(memory_id)
        if not yes and not typer.confirm(f"delete {memory_id}?", err=True):
            raise typer.Exit(EXIT_FAILURE)
        result = mem.delete(memory_id)
        emit(result, as_json, lambda: out.print(f"deleted {memory_id}"))


@app.command()
def scopes(
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every user, agent and run with how many memories it holds."""
    with open_memory(path, embedder, backend) as mem:
        rows = [dump(s) for s in mem.scopes().results]
        emit(rows, as_json, lambda: table(rows, ["user_id", "agent_id", "run_id", "count"]))


@app.command()
def stats(
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Counts, sizes on disk, the embedding model and the schema version."""
    with open_memory(path, embedder, backend) as mem:
        data = _stats(mem)
        emit(
            data,
            as_json,
            lambda: table([{"stat": k, "value": v} for k, v in data.items()], ["stat", "value"]),
        )


def _stats(mem: Memory) -> dict[str, Any]:
    data = mem.backend.stats()
    data["path"] = str(mem.path)
    data["scopes"] = len(mem.scopes().results)
    return data


@app.command()
def verify(
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the database and the vector index agree."""
    with open_memory(path, embedder, backend) as mem:
        report = mem.verify()
        emit(report, as_json, lambda: out.print_json(data=report, default=str))
        if not report.get("ok", True):
            raise typer.Exit(EXIT_STORE)


# Imported last so that `--help` lists the commands above first.
from . import _cli_doctor, _cli_server, _cli_transfer  # noqa: E402

_COMMAND_MODULES = (_cli_transfer, _cli_server, _cli_doctor)


def main() -> None:
    """Entry point of the ``mnemoweave`` script."""
    app()
