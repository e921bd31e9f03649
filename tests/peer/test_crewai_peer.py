"""CrewAI's own memory tests (crewai 1.15.30 sdist, ``tests/memory``) run against mnemoweave.

The test files come from the sdist at the pinned version (see ``_sdist.py``; nothing is
vendored) and run unchanged in a child pytest; ``crewai_plugin.py`` only swaps the store they
build for a ``MnemoweaveStorage``. The counts and every deliberate difference are in
``docs/crewai.md`` ("CrewAI's own tests").
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("crewai")
pytest.importorskip("mnemoweave_crewai")

from _sdist import fetch_test_files

CREWAI_VERSION = "1.15.30"
FILES = [
    "tests/memory/test_unified_memory.py",
    "tests/memory/test_memory_root_scope.py",
    "tests/memory/test_dimension_mismatch.py",
    "tests/memory/test_storage_factory.py",
]
#: Tests left out, each with the reason. None: even the 52,000-record listing test runs.
DESELECTED: dict[str, str] = {}
#: Tests that fail against mnemoweave on purpose (test id -> why). Empty: all pass.
DIFFERENCES: dict[str, str] = {}
#: The child run must have run at least this many tests (guards against silent collection).
MIN_TESTS = 130


def run_suite(tmp_path: Path) -> tuple[set[str], set[str], int]:
    root = fetch_test_files("crewai", CREWAI_VERSION, [*FILES, "tests/memory/__init__.py"])
    report = tmp_path / "report.xml"
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "home" / ".local" / "share"),
        "MNEMOWEAVE_HOME": str(tmp_path / "mnemoweave"),
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
        ),
        "PYTEST_ADDOPTS": "",
    }
    deselect = [arg for test in DESELECTED for arg in ("--deselect", test)]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            os.devnull,
            "--rootdir",
            str(root),
            "-p",
            "crewai_plugin",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--junitxml={report}",
            *deselect,
            *FILES,
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if not report.exists():
        pytest.fail(f"the CrewAI suite did not run:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    passed, failed = set(), set()
    for case in ET.parse(report).getroot().iter("testcase"):
        if case.find("skipped") is not None:
            continue
        ident = f"{case.get('classname')}::{case.get('name')}"
        broken = case.find("failure") is not None or case.find("error") is not None
        (failed if broken else passed).add(ident)
    return passed, failed, len(passed) + len(failed)


def test_crewai_memory_suite_passes_against_mnemoweave(tmp_path: Path) -> None:
    passed, failed, total = run_suite(tmp_path)
    print(
        f"\nCrewAI {CREWAI_VERSION} tests/memory on mnemoweave: {len(passed)} passed, "
        f"{len(failed)} failed, {len(DESELECTED)} deselected"
    )
    assert total >= MIN_TESTS
    assert failed == set(DIFFERENCES), f"unexpected failures: {sorted(failed - set(DIFFERENCES))}"
