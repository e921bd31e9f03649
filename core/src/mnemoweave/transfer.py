"""Export a store to JSONL and import it back, keeping ids, timestamps, versions and history.

The file format (``mnemoweave-export``, version 1) is one JSON object per line. The first line is
a header ``{"format": "mnemoweave-export", "version": 1, "model": ..., "count": N}``; each
further line is one memory: its columns (``id``, ``memory``, ``user_id``, ``agent_id``,
``run_id``, ``actor_id``, ``role``, ``metadata``, ``categories``, ``memory_type``,
``immutable``, ``status``), its times as epoch seconds (``created_at``, ``updated_at``,
``valid_from``, ``valid_to``, ``recorded_at``, ``expired_at``, ``expires_at``), its earlier
texts (``versions``) and its events (``history``), plus ``embedding`` when asked for.

Import is batched and idempotent: a memory whose id the store already holds is skipped, so an
interrupted import is resumed by running it again. Texts are embedded again with the target
store's embedder (an export's ``embedding`` fields are for other tools; import ignores them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._ids import text_hash
from ._keywords import terms_blob
from .backends.base import NewRow
from .errors import ValidationError
from .memory import Memory

__all__ = [
    "FORMAT",
    "VERSION",
    "ImportReport",
    "export_jsonl",
    "import_jsonl",
    "import_records",
    "read_header",
]

FORMAT = "mnemoweave-export"
VERSION = 1

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportReport:
    """What an import did: memories written, memories skipped (their id was already there)."""

    imported: int
    skipped: int


def export_jsonl(
    memory: Memory,
    out: IO[str],
    *,
    embeddings: bool = False,
    progress: Progress | None = None,
) -> int:
    """Write every memory of ``memory`` (retired ones too) to ``out``; returns how many."""
    backend = memory.backend
    stats = backend.stats()
    header = {"format": FORMAT, "version": VERSION, "model": stats["model"]}
    header["count"] = stats["memories"]
    out.write(json.dumps(header) + "\n")
    written = 0
    with backend.read() as reader:
        for rec in reader.dump(embeddings):
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            written += 1
            if progress is not None:
                progress(1)
    return written


def read_header(path: Path) -> dict[str, Any]:
    """The header line of an export file; raises ValidationError if it is not one of ours."""
    with _open(path) as fh:
        first = fh.readline()
    return _header(first, path)


def import_jsonl(
    memory: Memory,
    path: str | Path,
    *,
    batch_size: int = 1000,
    progress: Progress | None = None,
) -> ImportReport:
    """Load an export file into ``memory``; memories whose id exists already are skipped."""
    return _import(memory, _records(Path(path)), batch_size, progress)


def import_records(
    memory: Memory,
    records: Iterable[dict[str, Any]],
    *,
    batch_size: int = 1000,
    progress: Progress | None = None,
) -> ImportReport:
    """Load memory records (the objects of an export's lines) into ``memory``, as
    :func:`import_jsonl` does; converters from other formats produce these."""
    checked = (_checked(rec, f"record {n}") for n, rec in enumerate(records, start=1))
    return _import(memory, checked, batch_size, progress)


def _import(
    memory: Memory,
    records: Iterable[dict[str, Any]],
    batch_size: int,
    progress: Progress | None,
) -> ImportReport:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValidationError("batch_size must be a positive integer")
    imported = skipped = 0
    batch: list[dict[str, Any]] = []
    for rec in records:
        batch.append(rec)
        if len(batch) >= batch_size:
            done = _write_batch(memory, batch)
            imported, skipped = imported + done, skipped + len(batch) - done
            if progress is not None:
                progress(len(batch))
            batch = []
    if batch:
        done = _write_batch(memory, batch)
        imported, skipped = imported + done, skipped + len(batch) - done
        if progress is not None:
            progress(len(batch))
    return ImportReport(imported=imported, skipped=skipped)


def _open(path: Path) -> IO[str]:
    try:
        return path.open(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _header(line: str, path: Path) -> dict[str, Any]:
    try:
        header = json.loads(line) if line.strip() else None
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValidationError(f"{path}:1: not a mnemoweave export (no {FORMAT!r} header line)")
    if header.get("version") != VERSION:
        raise ValidationError(
            f"{path}:1: export format version {header.get('version')!r} is not supported"
            f" (this mnemoweave reads version {VERSION})"
        )
    return header


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with _open(path) as fh:
        _header(fh.readline(), path)
        for number, line in enumerate(fh, start=2):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValidationError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
            yield _checked(rec, f"{path}:{number}")


def _checked(rec: Any, where: str) -> dict[str, Any]:
    if not isinstance(rec, dict):
        raise ValidationError(f"{where}: a memory line must be a JSON object")
    for key in ("id", "memory"):
        if not isinstance(rec.get(key), str) or not rec[key]:
            raise ValidationError(f"{where}: {key!r} must be a non-empty string")
    if not any(isinstance(rec.get(k), str) and rec[k] for k in ("user_id", "agent_id", "run_id")):
        raise ValidationError(f"{where}: a memory needs a user_id, agent_id or run_id")
    for key in ("created_at", "updated_at", "valid_from", "recorded_at"):
        if not isinstance(rec.get(key), int | float) or isinstance(rec.get(key), bool):
            raise ValidationError(f"{where}: {key!r} must be a number (epoch seconds)")
    if not isinstance(rec.get("metadata", {}), dict):
        raise ValidationError(f"{where}: 'metadata' must be an object")
    if not isinstance(rec.get("categories", []), list):
        raise ValidationError(f"{where}: 'categories' must be a list")
    for key in ("versions", "history"):
        items = rec.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValidationError(f"{where}: {key!r} must be a list of objects")
    return rec


def _write_batch(memory: Memory, batch: list[dict[str, Any]]) -> int:
    """Insert the batch's new memories in one transaction; returns how many were new."""
    backend = memory.backend
    with backend.read() as reader:
        have = reader.known_ids([r["id"] for r in batch])
    fresh: dict[str, dict[str, Any]] = {}
    for rec in batch:
        if rec["id"] not in have:
            fresh.setdefault(rec["id"], rec)
    if not fresh:
        return 0
    records = list(fresh.values())
    engine = memory._engine
    vectors = engine.embed([r["memory"] for r in records])
    old_texts = [v["memory"] for r in records for v in r.get("versions", [])]
    old_vectors = list(engine.embed(old_texts)) if old_texts else []
    rows = [_row(r, v) for r, v in zip(records, vectors)]
    with backend.write() as w:
        w.restore(records, rows, old_vectors)
    return len(records)


def _row(rec: dict[str, Any], vector: np.ndarray) -> NewRow:
    text = rec["memory"]
    return NewRow(
        id=rec["id"],
        memory=text,
        hash=text_hash(text),
        user_id=rec.get("user_id"),
        agent_id=rec.get("agent_id"),
        run_id=rec.get("run_id"),
        actor_id=rec.get("actor_id"),
        role=rec.get("role"),
        metadata=json.dumps(rec.get("metadata") or {}, ensure_ascii=False),
        categories=json.dumps(rec.get("categories") or [], ensure_ascii=False),
        memory_type=rec.get("memory_type"),
        immutable=int(bool(rec.get("immutable", False))),
        timestamp=float(rec["valid_from"]),
        recorded_at=float(rec["recorded_at"]),
        expires_at=rec.get("expires_at"),
        terms=terms_blob(text),
        vector=vector,
    )
