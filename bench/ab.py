"""``python -m bench ab --ref REF --study S [--rounds N] -- STUDY-ARGS``: one study, two commits.

Runs study ``S`` alternately on the working tree and on commit ``REF`` (exported with
``git archive`` into a temporary folder), ``--rounds`` times each, in one process tree on
one machine, so both see the same load. Every numeric figure a study writes to its JSON is
collected; the table shows the median per side and the ratio head/ref for the figures
matching ``--metrics`` (a regular expression over the figure's path).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench._common import markdown_table, write_results

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_METRICS = r"(p50|recall|any@10|all@10|adds_per_s|records_per_s|add_p50)"


def _export(ref: str, into: Path) -> Path:
    """The tree of ``ref`` under ``into`` (no git metadata, nothing of the working tree)."""
    archive = into / "ref.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", ref], stdout=out, check=True)
    tree = into / "ref"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def _leaves(node: Any, path: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f"{path}/{key}" if path else str(key))
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield path, float(node)


def _run(tree: Path, study: str, args: Sequence[str], scratch: Path) -> dict[str, float]:
    out = scratch / f"{tree.name}-{study}.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "core" / "src"), str(tree)])
    env["BENCH_RESULTS_DIR"] = str(scratch / f"results-{tree.name}")
    cmd = [sys.executable, "-m", "bench", study, *args, "--json", str(out)]
    subprocess.run(cmd, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    return dict(_leaves(json.loads(out.read_text())))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    rest: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, rest = argv[:at], argv[at + 1 :]
    parser = argparse.ArgumentParser(prog="python -m bench ab", description=__doc__)
    parser.add_argument("--ref", required=True, help="the baseline commit (e.g. HEAD~1)")
    parser.add_argument("--study", required=True, help="a study of python -m bench")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--metrics", default=DEFAULT_METRICS)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    pattern = re.compile(args.metrics)
    runs: dict[str, list[dict[str, float]]] = {"ref": [], "head": []}
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp:
        scratch = Path(tmp)
        ref_tree = _export(args.ref, scratch)
        for _ in range(args.rounds):
            runs["ref"].append(_run(ref_tree, args.study, rest, scratch))
            runs["head"].append(_run(ROOT, args.study, rest, scratch))
    rows, figures = [], {}
    for key in sorted(runs["head"][0]):
        if not pattern.search(key) or not all(key in r for r in runs["ref"]):
            continue
        ref = statistics.median(r[key] for r in runs["ref"])
        head = statistics.median(r[key] for r in runs["head"] if key in r)
        ratio = head / ref if ref else float("nan")
        figures[key] = {"ref": ref, "head": head, "ratio": ratio}
        rows.append([key, f"{ref:.4g}", f"{head:.4g}", f"{ratio:.3f}"])
    text = (
        f"## ab: {args.study} {' '.join(rest)}\n\nhead = working tree, ref = {args.ref}; "
        f"medians of {args.rounds} alternating runs each.\n\n"
        + markdown_table(["figure", "ref", "head", "head/ref"], rows)
        + "\n"
    )
    print(text)
    write_results(f"ab-{args.study}", text, figures, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
