"""The ``mnemoweave`` command: look at, change, export and import a local memory store.

Exit codes: 0 success; 1 an unexpected failure; 2 bad input or usage (``ValidationError``,
unknown options); 3 a memory that does not exist (``NotFoundError``); 4 the store, embedder or
configuration failed (``StorageError``, ``EmbeddingError``, ``ConfigurationError``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from . import transfer
from .errors import (
    ConfigurationError,
    EmbeddingError,
    MnemoweaveError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from .memory import Memory

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_STORE = 0, 1, 2, 3, 4

app = typer.Typer(
    name="mnemoweave",
    help="Look at, change, export and import a mnemoweave memory store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

PathOpt = Annotated[
    Path | None,
    typer.Option("--path", "--backend", envvar="MNEMOWEAVE_HOME", help="store directory"),
]
EmbedderOpt = Annotated[
    str | None,
    typer.Option(envvar="MNEMOWEAVE_EMBEDDER", help="embedder name (default: local)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
UserOpt = Annotated[str | None, typer.Option("--user-id", "-u")]
AgentOpt = Annotated[str | None, typer.Option("--agent-id", "-a")]
RunOpt = Annotated[str | None, typer.Option("--run-id", "-r")]

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _code(exc: MnemoweaveError) -> int:
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, ValidationError):
        return EXIT_USAGE
    if isinstance(exc, StorageError | EmbeddingError | ConfigurationError):
        return EXIT_STORE
    return EXIT_FAILURE


@contextmanager
def _memory(path: Path | None, embedder: str | None) -> Iterator[Memory]:
    """Open the store; a mnemoweave error becomes a message on stderr and its exit code."""
    mem: Memory | None = None
    try:
        mem = Memory(path, embedder=embedder)
        yield mem
    except MnemoweaveError as exc:
        err.print(f"[red]error:[/red] {type(exc).__name__}: {exc}", highlight=False)
        raise typer.Exit(_code(exc)) from None
    finally:
        if mem is not None:
            mem.close()


def _emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")
    else:
        render()


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    out.print(table)


class _Rate(ProgressColumn):
    """Memories per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} memories/s")


@contextmanager
def _progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A bar with rate and ETA on a terminal; nothing when stderr is not one."""
    if not err.is_terminal:
        yield lambda n: None
        return
    columns = (
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        _Rate(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _dump(item: Any) -> dict[str, Any]:
    return dict(item.model_dump(mode="json", exclude_none=True))


@app.command()
def add(
    text: str,
    user_id: UserOpt = None,
    agent_id: AgentOpt = None,
    run_id: RunOpt = None,
    metadata: Annotated[str | None, typer.Option(help="a JSON object")] = None,
    path: PathOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Store TEXT verbatim as one memory of the scope."""
    with _memory(path, embedder) as mem:
        meta = _json_object(metadata)
        result = mem.add(
            text, user_id=user_id, agent_id=agent_id, run_id=run_id, metadata=meta, infer=False
        )
        events = [dict(e) for e in result["results"]]
        _emit(events, as_json, lambda: _table(events, ["id", "event", "memory"]))


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
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find the scope's memories closest to QUERY."""
    with _memory(path, embedder) as mem:
        found = mem.search(
            query, user_id=user_id, agent_id=agent_id, run_id=run_id, limit=limit, explain=explain
        )
        rows = [_dump(r) for r in found.results]
        columns = ["id", "score", "memory"] + (["explain"] if explain else [])
        _emit(rows, as_json, lambda: _table(rows, columns))


@app.command("list")
def list_(
    user_id: UserOpt = None,
    agent_id: AgentOpt = None,
    run_id: RunOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 100,
    path: PathOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The scope's memories, newest first."""
    with _memory(path, embedder) as mem:
        found = mem.get_all(user_id=user_id, agent_id=agent_id, run_id=run_id, limit=limit)
        rows = [_dump(r) for r in found.results]
        _emit(
            {"results": rows, "total": found.total},
            as_json,
            lambda: _table(rows, ["id", "created_at", "memory"]),
        )


@app.command()
def show(
    memory_id: str, path: PathOpt = None, embedder: EmbedderOpt = None, as_json: JsonOpt = False
) -> None:
    """One memory with all its fields."""
    with _memory(path, embedder) as mem:
        item = _dump(mem.get(memory_id))
        _emit(
            item,
            as_json,
            lambda: _table([{"field": k, "value": v} for k, v in item.items()], ["field", "value"]),
        )


@app.command()
def history(
    memory_id: str, path: PathOpt = None, embedder: EmbedderOpt = None, as_json: JsonOpt = False
) -> None:
    """Every recorded event of a memory, oldest first."""
    with _memory(path, embedder) as mem:
        rows = [_dump(h) for h in mem.history(memory_id)]
        columns = ["created_at", "event", "old_memory", "new_memory"]
        _emit(rows, as_json, lambda: _table(rows, columns))


@app.command()
def update(
    memory_id: str,
    text: str,
    path: PathOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replace a memory's text (its id stays, the old text becomes a version)."""
    with _memory(path, embedder) as mem:
        item = _dump(mem.update(memory_id, text))
        _emit(item, as_json, lambda: out.print(f"updated {memory_id}"))


@app.command()
def delete(
    memory_id: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
    path: PathOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete a memory (asks first unless --yes)."""
    with _memory(path, embedder) as mem:
        mem.get(memory_id)
        if not yes and not typer.confirm(f"delete {memory_id}?", err=True):
            raise typer.Exit(EXIT_FAILURE)
        result = mem.delete(memory_id)
        _emit(result, as_json, lambda: out.print(f"deleted {memory_id}"))


@app.command()
def scopes(path: PathOpt = None, embedder: EmbedderOpt = None, as_json: JsonOpt = False) -> None:
    """Every user, agent and run with how many memories it holds."""
    with _memory(path, embedder) as mem:
        rows = [_dump(s) for s in mem.scopes().results]
        _emit(rows, as_json, lambda: _table(rows, ["user_id", "agent_id", "run_id", "count"]))


@app.command()
def stats(path: PathOpt = None, embedder: EmbedderOpt = None, as_json: JsonOpt = False) -> None:
    """Counts, sizes on disk, the embedding model and the schema version."""
    with _memory(path, embedder) as mem:
        data = _stats(mem)
        _emit(
            data,
            as_json,
            lambda: _table([{"stat": k, "value": v} for k, v in data.items()], ["stat", "value"]),
        )


def _stats(mem: Memory) -> dict[str, Any]:
    data = mem.backend.stats()
    data["path"] = str(mem.path)
    data["scopes"] = len(mem.scopes().results)
    return data


@app.command()
def verify(path: PathOpt = None, embedder: EmbedderOpt = None, as_json: JsonOpt = False) -> None:
    """Check the database and the vector index agree."""
    with _memory(path, embedder) as mem:
        report = mem.verify()
        _emit(report, as_json, lambda: out.print_json(data=report, default=str))
        if not report.get("ok", True):
            raise typer.Exit(EXIT_STORE)


@app.command("export")
def export_(
    file: Annotated[Path, typer.Argument(help="output JSONL file, '-' for stdout")],
    embeddings: Annotated[bool, typer.Option(help="include each memory's vector")] = False,
    path: PathOpt = None,
    embedder: EmbedderOpt = None,
) -> None:
    """Write every memory, with its versions and history, to a JSONL file."""
    with _memory(path, embedder) as mem:
        total = mem.backend.stats()["memories"]
        with _progress("export", total) as tick:
            if str(file) == "-":
                count = transfer.export_jsonl(mem, sys.stdout, embeddings=embeddings, progress=tick)
            else:
                with file.open("w", encoding="utf-8") as fh:
                    count = transfer.export_jsonl(mem, fh, embeddings=embeddings, progress=tick)
        err.print(f"exported {count} memories")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="a file written by `mnemoweave export`")],
    batch_size: Annotated[int, typer.Option(help="memories per transaction")] = 1000,
    path: PathOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load an export into the store; ids already present are skipped (re-runs resume)."""
    with _memory(path, embedder) as mem:
        header = transfer.read_header(file)
        total = header.get("count") if isinstance(header.get("count"), int) else None
        with _progress("import", total) as tick:
            report = transfer.import_jsonl(mem, file, batch_size=batch_size, progress=tick)
        data = {"imported": report.imported, "skipped": report.skipped}
        _emit(
            data,
            as_json,
            lambda: err.print(
                f"imported {report.imported} memories, skipped {report.skipped} already present"
            ),
        )


def main() -> None:
    """Entry point of the ``mnemoweave`` script."""
    app()
