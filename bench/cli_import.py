"""Import study: ``mnemoweave import`` (JSONL export and mem0 dump) against ``Memory.batch_add``.

Writes N synthetic memories (several users) as a mnemoweave export file and as a mem0
``get_all`` dump, then times, each into a fresh store with the same embedder in the same run:
``Memory.batch_add`` in batches of ``--batch``, ``transfer.import_jsonl``, ``mem0_import``,
and the ``mnemoweave import`` command as a subprocess (wall time, process start included).
The ratio column is each rate over the batch_add rate.

    python -m bench cli_import [--quick] [--records 100000] [--batch 1000] [--embedder hash]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine, markdown_table, save_bar_chart, write_results

_TOPICS = ("tea", "chess", "hiking", "jazz", "sushi", "python", "running", "painting")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench cli_import")
    parser.add_argument("--quick", action="store_true", help="2,000 records (unless --records)")
    parser.add_argument("--records", type=int, default=None, help="default 100,000")
    parser.add_argument("--batch", type=int, default=1000, help="records per batch/transaction")
    parser.add_argument("--embedder", default="hash", help="mnemoweave embedder name")
    parser.add_argument("--users", type=int, default=100)
    args = parser.parse_args(argv)
    if args.records is None:
        args.records = 2_000 if args.quick else 100_000
    return args


def _records(n: int, users: int) -> list[dict[str, Any]]:
    return [
        {
            "text": f"User {i % users} mentioned fact {i}: likes {_TOPICS[i % 8]} on day {i % 7}",
            "user_id": f"user{i % users}",
            "metadata": {"n": i},
        }
        for i in range(n)
    ]


def _batch_add(folder: Path, records: list[dict[str, Any]], batch: int, embedder: str) -> float:
    from mnemoweave import Memory

    mem = Memory(folder, embedder=embedder)
    start = time.perf_counter()
    for at in range(0, len(records), batch):
        mem.batch_add(records[at : at + batch])
    elapsed = time.perf_counter() - start
    mem.close()
    return elapsed


def _export(source: Path, out: Path, embedder: str) -> int:
    from mnemoweave import Memory
    from mnemoweave.transfer import export_jsonl

    mem = Memory(source, embedder=embedder)
    with out.open("w", encoding="utf-8") as fh:
        count = export_jsonl(mem, fh)
    mem.close()
    return count


def _mem0_dump(export: Path, out: Path) -> None:
    """The same memories as mem0's ``get_all`` returns them (ISO times, no history)."""
    from datetime import UTC, datetime

    items = []
    with export.open(encoding="utf-8") as fh:
        fh.readline()
        for line in fh:
            rec = json.loads(line)
            iso = datetime.fromtimestamp(rec["created_at"], UTC).isoformat()
            items.append(
                {
                    "id": rec["id"],
                    "memory": rec["memory"],
                    "hash": "",
                    "metadata": rec["metadata"],
                    "created_at": iso,
                    "updated_at": iso,
                    "user_id": rec["user_id"],
                }
            )
    out.write_text(json.dumps({"results": items}), encoding="utf-8")


def _timed_import(folder: Path, file: Path, batch: int, embedder: str, mem0: bool) -> float:
    from mnemoweave import Memory
    from mnemoweave.mem0_import import import_mem0
    from mnemoweave.transfer import import_jsonl

    mem = Memory(folder, embedder=embedder)
    start = time.perf_counter()
    report = (import_mem0 if mem0 else import_jsonl)(mem, file, batch_size=batch)
    elapsed = time.perf_counter() - start
    mem.close()
    assert report.skipped == 0
    return elapsed


def _cli(folder: Path, file: Path, batch: int, embedder: str) -> float:
    env = {**os.environ, "MNEMOWEAVE_HOME": str(folder), "MNEMOWEAVE_EMBEDDER": embedder}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mnemoweave", "import", str(file), "--batch-size", str(batch)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"mnemoweave import failed: {done.stderr}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    records = _records(args.records, args.users)
    n = len(records)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        seconds = {"Memory.batch_add": _batch_add(root / "a", records, args.batch, args.embedder)}
        export, dump = root / "export.jsonl", root / "mem0.json"
        assert _export(root / "a", export, args.embedder) == n
        _mem0_dump(export, dump)
        seconds["transfer.import_jsonl"] = _timed_import(
            root / "b", export, args.batch, args.embedder, mem0=False
        )
        seconds["mem0_import.import_mem0"] = _timed_import(
            root / "c", dump, args.batch, args.embedder, mem0=True
        )
        seconds["`mnemoweave import` (subprocess)"] = _cli(
            root / "d", export, args.batch, args.embedder
        )
    base = n / seconds["Memory.batch_add"]
    rows, figures = [], {}
    for name, secs in seconds.items():
        rate = n / secs
        rows.append([name, n, round(secs, 2), round(rate), f"{rate / base:.2f}x"])
        figures[name] = {"seconds": secs, "records_per_s": rate, "ratio": rate / base}
    table = (
        "## cli_import\n\n"
        f"{n:,} records, {args.users} users, batches of {args.batch}, embedder "
        f"{args.embedder!r}, fresh store each; {machine()}\n\n"
        + markdown_table(["path", "records", "seconds", "records/s", "vs batch_add"], rows)
    )
    print(table)
    name = "cli_import-quick" if args.quick else "cli_import"
    write_results(name, table, figures)
    save_bar_chart(
        name,
        f"Importing {n:,} records (records/s)",
        list(seconds),
        {"records/s": [figures[k]["records_per_s"] for k in seconds]},
        ylabel="records/s",
    )


if __name__ == "__main__":
    main()
