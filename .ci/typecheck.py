"""Run ``mypy --strict`` on every public module of every workspace member, and the typing tests.

A public module is one whose dotted name has no part starting with ``_`` (``__init__`` aside):
``mnemoweave.memory``, ``mnemoweave.embed``, ``mnemoweave_crewai`` ... Private modules are
analysed for their types but their own errors are not reported (``--follow-imports=silent``),
so the promise is about what users import. Typing tests (``*/tests/test_*typing*.py``) hold
``typing.assert_type`` lines that only mypy checks.

    python .ci/typecheck.py [MYPY]     # MYPY: the mypy executable, default "mypy"
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def public_modules() -> list[str]:
    modules = []
    for source in sorted(ROOT.glob("*/src")):
        for path in sorted(source.rglob("*.py")):
            parts = list(path.relative_to(source).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if parts and not any(part.startswith("_") for part in parts):
                modules.append(".".join(parts))
    return modules


def main() -> int:
    mypy = sys.argv[1] if len(sys.argv) > 1 else "mypy"
    modules = public_modules()
    typing_tests = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("*/tests/test_*typing*.py"))
    command = [mypy, "--strict", "--follow-imports=silent"]
    for module in modules:
        command += ["-m", module]
    print(f"mypy --strict: {len(modules)} public modules, typing tests {typing_tests}", flush=True)
    checked = subprocess.run(command, cwd=ROOT, check=False)
    tests = subprocess.run([mypy, "--strict", *typing_tests], cwd=ROOT, check=False)
    return checked.returncode or tests.returncode


if __name__ == "__main__":
    sys.exit(main())
