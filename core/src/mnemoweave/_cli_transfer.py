"""``mnemoweave export`` and ``mnemoweave import`` (our JSONL, and mem0 dumps), with progress."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from . import mem0_import, transfer
from ._cli_common import (
    AgentOpt,
    BackendOpt,
    EmbedderOpt,
    JsonOpt,
    PathOpt,
    RunOpt,
    UserOpt,
    app,
    emit,
    err,
    open_memory,
    progress,
)
from .errors import ValidationError
from .memory import Memory


class Format(StrEnum):
    """What ``import`` reads: detected from the file, our export, or a mem0 dump."""

    auto = "auto"
    mnemoweave = "mnemoweave"
    mem0 = "mem0"


@app.command("export")
def export_(
    file: Annotated[Path, typer.Argument(help="output JSONL file, '-' for stdout")],
    embeddings: Annotated[bool, typer.Option(help="include each memory's vector")] = False,
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
) -> None:
    """Write every memory, with its versions and history, to a JSONL file."""
    with open_memory(path, embedder, backend) as mem:
        total = int(mem.backend.stats()["memories"])  # retired memories are exported too
        with progress("export", total) as tick:
            if str(file) == "-":
                count = transfer.export_jsonl(mem, sys.stdout, embeddings=embeddings, progress=tick)
            else:
                with file.open("w", encoding="utf-8") as fh:
                    count = transfer.export_jsonl(mem, fh, embeddings=embeddings, progress=tick)
        err.print(f"exported {count} memories")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="a `mnemoweave export` file or a mem0 dump")],
    fmt: Annotated[
        Format, typer.Option("--format", help="file format (auto: detected from the file)")
    ] = Format.auto,
    batch_size: Annotated[int, typer.Option(help="memories per transaction")] = 1000,
    user_id: UserOpt = None,
    agent_id: AgentOpt = None,
    run_id: RunOpt = None,
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load an export or a mem0 dump; ids already present are skipped (re-runs resume).

    --user-id/--agent-id/--run-id give mem0 items without a scope of their own one."""
    with open_memory(path, embedder, backend) as mem:
        if fmt is not Format.mem0:
            try:
                header = transfer.read_header(file)
            except ValidationError as exc:
                if fmt is Format.mnemoweave:
                    raise
                report = _import_mem0(mem, file, batch_size, user_id, agent_id, run_id, exc)
            else:
                count = header.get("count")
                with progress("import", count if isinstance(count, int) else None) as tick:
                    report = transfer.import_jsonl(mem, file, batch_size=batch_size, progress=tick)
        else:
            report = _import_mem0(mem, file, batch_size, user_id, agent_id, run_id, None)
        data = {"imported": report.imported, "skipped": report.skipped}
        emit(
            data,
            as_json,
            lambda: err.print(
                f"imported {report.imported} memories, skipped {report.skipped} already present"
            ),
        )


def _import_mem0(
    mem: Memory,
    file: Path,
    batch_size: int,
    user_id: str | None,
    agent_id: str | None,
    run_id: str | None,
    not_ours: ValidationError | None,
) -> transfer.ImportReport:
    try:
        items = mem0_import.read_mem0(file)
    except ValidationError as exc:
        if not_ours is None:
            raise
        raise ValidationError(f"{not_ours}; nor a mem0 dump ({exc})") from exc
    records = mem0_import.to_records(items, user_id=user_id, agent_id=agent_id, run_id=run_id)
    with progress("import mem0", len(items)) as tick:
        return transfer.import_records(mem, records, batch_size=batch_size, progress=tick)
