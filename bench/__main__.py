"""``python -m bench <study> [options]``: run one benchmark study and print its markdown table.

Studies: scale, locomo, llm_cost, concurrency, embed, server, quality, store_puts, cli_import,
pg_async;
``ab`` runs one study on two commits (see bench/ab.py).
``python -m bench all --quick`` runs every study's quick path. Each study writes its table
(and JSON figures) to bench/results/.
"""

from __future__ import annotations

import importlib
import sys

STUDIES = (
    "scale",
    "locomo",
    "llm_cost",
    "concurrency",
    "embed",
    "server",
    "quality",
    "store_puts",
    "cli_import",
    "pg_async",
    "ab",
)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        print("studies:", ", ".join(STUDIES))
        return 0 if argv else 2
    study, rest = argv[0], argv[1:]
    if study == "all":
        return max(main([name, *rest]) for name in STUDIES if name != "ab")
    if study not in STUDIES:
        print(f"unknown study {study!r}; choose from {', '.join(STUDIES)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"bench.{study}")
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
