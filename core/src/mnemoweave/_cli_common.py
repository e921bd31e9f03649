"""What every ``mnemoweave`` command shares: the app, options, exit codes, output, progress.

Exit codes: 0 success; 1 an unexpected failure; 2 bad input or usage (``ValidationError``,
unknown options); 3 a memory that does not exist (``NotFoundError``); 4 the store, embedder or
configuration failed (``StorageError``, ``EmbeddingError``, ``ConfigurationError``, a failed
``doctor`` check, a missing optional package).
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

from .backends import check_backend
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
    typer.Option("--path", envvar="MNEMOWEAVE_HOME", help="store directory"),
]
BackendOpt = Annotated[
    str | None,
    typer.Option("--backend", help="storage backend (default: sqlite)"),
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


def exit_code(exc: MnemoweaveError) -> int:
    """The exit code a mnemoweave error stands for."""
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, ValidationError):
        return EXIT_USAGE
    if isinstance(exc, StorageError | EmbeddingError | ConfigurationError):
        return EXIT_STORE
    return EXIT_FAILURE


def fail(exc: MnemoweaveError) -> typer.Exit:
    """Print ``exc`` on stderr; the returned ``typer.Exit`` carries its exit code."""
    err.print(f"[red]error:[/red] {type(exc).__name__}: {exc}", highlight=False)
    return typer.Exit(exit_code(exc))


@contextmanager
def reporting() -> Iterator[None]:
    """Turn a mnemoweave error raised inside into a message on stderr and its exit code."""
    try:
        yield
    except MnemoweaveError as exc:
        raise fail(exc) from None


def backend_options(backend: str | None) -> dict[str, Any]:
    """``Memory`` options for ``--backend`` (``sqlite``, or a URL a backend accepts)."""
    if backend is None:
        return {}
    check_backend(backend)  # a bad name fails here, before a server or a check starts
    return {"backend": backend}


@contextmanager
def open_memory(path: Path | None, embedder: str | None, backend: str | None) -> Iterator[Memory]:
    """Open the store; a mnemoweave error becomes a message on stderr and its exit code."""
    mem: Memory | None = None
    try:
        mem = Memory(path, embedder=embedder, **backend_options(backend))
        yield mem
    except MnemoweaveError as exc:
        raise fail(exc) from None
    finally:
        if mem is not None:
            mem.close()


def emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    """Print ``data`` as one JSON line with ``--json``, else call ``render``."""
    if as_json:
        sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")
    else:
        render()


def table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Print ``rows`` as a rich table of ``columns`` (missing values blank)."""
    grid = Table(*columns)
    for row in rows:
        grid.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    out.print(grid)


class _Rate(ProgressColumn):
    """Memories per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} memories/s")


@contextmanager
def progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A bar with count, rate and ETA on a terminal; nothing when stderr is not one."""
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


def dump(item: Any) -> dict[str, Any]:
    """A result model as a JSON-ready dict without its ``None`` fields."""
    return dict(item.model_dump(mode="json", exclude_none=True))
