"""Print one of the README's set-up commands (``quickstart`` or ``test``) so CI runs exactly it.

The README marks each command with ``<!-- command:NAME -->`` right before its fenced block.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def command(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(
        rf"<!-- command:{re.escape(name)} -->\s*```(?:bash|sh)?\n(.*?)```", text, re.S
    )
    if match is None:
        raise SystemExit(f"README.md has no <!-- command:{name} --> block")
    lines = [line.rstrip("\\").strip() for line in match.group(1).strip().splitlines()]
    return " ".join(line for line in lines if line and not line.startswith("#"))


if __name__ == "__main__":
    print(command(sys.argv[1] if len(sys.argv) > 1 else "test"))
