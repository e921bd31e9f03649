"""Every ```python block in the README, the package READMEs and docs/*.md runs as written.

Rules for snippet authors (also in docs/packaging.md):

* Every block fenced as ```python is a program: it runs alone, top to bottom, in a fresh
  interpreter. Import and define every name it uses (no names from an earlier block), and
  wrap ``await`` in an ``async def main()`` run by ``asyncio.run(main())``.
* Text that is not a runnable program (output, shell commands, JSON, prompt text) uses
  another fence: ```bash, ```json, ```text.
* A snippet runs offline in an empty temporary directory that is also ``$HOME``'s parent,
  with ``$MNEMOWEAVE_HOME``, ``$TMPDIR`` and ``$CREWAI_STORAGE_DIR`` inside it. Relative
  paths (``Memory("memories")``) land there; absolute paths outside it are refused, so a
  snippet never writes to a real home or to ``/data``.
* ``OPENAI_BASE_URL`` (and ``OPENAI_API_BASE``) / ``OPENAI_API_KEY`` point at a
  ``ScriptedOpenAIServer`` whose handler answers like a cooperative model: each user message
  of a mnemoweave extraction request becomes a fact (``I live in X`` becomes ``Lives in X``;
  ``moved from X to Y`` updates the memory that mentions X), any other chat gets
  ``Final Answer: ...``. So ``Memory(llm={"model": "gpt-4.1-mini"})`` and framework LLM
  clients configured from the environment run unchanged. A connection to anything but
  127.0.0.1 fails the snippet.
* Snippets that use ``mnemoweave.remote`` (or mem0's client) get a real ``mnemoweave-server``
  (``LiveServer``), with ``$MNEMOWEAVE_URL`` and ``$MNEMOWEAVE_API_KEY`` set to it.
* Provider clients the snippets use are installed by requirements-test.txt (langchain-openai,
  llama-index-llms-openai, autogen-ext[openai]); a framework's own stand-in model (LlamaIndex's
  ``MockLLM``) is fine too, with a comment saying so.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mnemoweave.llm import prompts
from mnemoweave.testing import RecordedRequest, ScriptedOpenAIServer, operations

ROOT = Path(__file__).resolve().parent.parent
SANDBOX = Path(__file__).resolve().parent / "snippet_sandbox.py"
DOCUMENTS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted(ROOT.glob("*/README.md")),
]
FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```", re.M | re.S)


def _snippets() -> list[tuple[str, str]]:
    found = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match.group(1) == "python":
                line = text[: match.start()].count("\n") + 1
                found.append((f"{document.relative_to(ROOT)}:{line}", match.group(2)))
    return found


SNIPPETS = _snippets()
# mem0's client sends telemetry unless told not to.
_QUIET = {"MEM0_TELEMETRY": "False"}

# -- a cooperative stand-in model ---------------------------------------------------------
_MOVED = re.compile(r"moved from (\w+) to (\w+)", re.I)
_LIVES = re.compile(r"I live in (\w+)\.?", re.I)


def _extraction_reply(data: dict[str, Any]) -> dict[str, Any]:
    existing = {m["id"]: m["text"] for m in data.get("existing_memories", [])}
    ops: list[tuple[str, int | None, str | None]] = []
    for message in data["messages"]:
        content = message["content"].strip()
        if message["role"] != "user" or not content:
            continue
        moved, lives = _MOVED.search(content), _LIVES.fullmatch(content)
        if moved:
            old, new = moved.group(1), moved.group(2)
            target = next((i for i, text in existing.items() if old in text), None)
            ops.append(
                (
                    "ADD" if target is None else "UPDATE",
                    target,
                    f"Lives in {new} (moved from {old})",
                )
            )
        elif lives:
            ops.append(("ADD", None, f"Lives in {lives.group(1)}"))
        elif content in existing.values():
            ops.append(("NONE", next(i for i, t in existing.items() if t == content), None))
        else:
            ops.append(("ADD", None, content))
    return operations(*ops)


def cooperative_model(request: RecordedRequest) -> object:
    """Replies the way a helpful model would, from the request alone."""
    texts = [m.get("content") for m in request.messages if isinstance(m.get("content"), str)]
    system = texts[0] if texts else ""
    if system.startswith("You write the procedural memory"):
        return "1. Task: the run's goal.\n2. Progress: done.\n3. Steps: none.\n4. Next step: none."
    if texts and prompts.MEMORIES_HEADER in texts[-1] and prompts.MESSAGES_HEADER in texts[-1]:
        return _extraction_reply(prompts.input_data(texts[-1]))
    return "Thought: I now know the final answer\nFinal Answer: Noted, I will remember that."


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer(handler=cooperative_model) as server:
        yield server


@pytest.fixture(scope="module")
def memory_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real mnemoweave-server for the snippets that talk to one: its URL and admin key."""
    live_server = pytest.importorskip("mnemoweave_server.testing")
    home = tmp_path_factory.mktemp("memory-server")
    quiet = {"HOME": str(home), "MNEMOWEAVE_HOME": str(home / "mnemoweave"), **_QUIET}
    with live_server.LiveServer(home / "store", env=quiet) as server:
        yield {"MNEMOWEAVE_URL": server.url, "MNEMOWEAVE_API_KEY": server.admin_key}


def test_every_python_block_is_collected() -> None:
    """The collector sees the blocks (a broken fence regex would silently test nothing)."""
    assert len(SNIPPETS) >= 30
    assert any(name.startswith("README.md:") for name, _ in SNIPPETS)
    assert all(doc.is_file() for doc in DOCUMENTS)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "code"), SNIPPETS, ids=[name for name, _ in SNIPPETS])
def test_snippet_runs(
    name: str,
    code: str,
    tmp_path: Path,
    model: ScriptedOpenAIServer,
    request: pytest.FixtureRequest,
) -> None:
    server: dict[str, str] = {}
    if "mnemoweave.remote" in code or "mem0" in code:
        server = request.getfixturevalue("memory_server")
    home = tmp_path / "home"
    work = tmp_path / "work"
    for folder in (home, work, tmp_path / "tmp"):
        folder.mkdir()
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    env = {
        **os.environ,
        "HOME": str(home),
        "MNEMOWEAVE_HOME": str(tmp_path / "mnemoweave"),
        "TMPDIR": str(tmp_path / "tmp"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "CREWAI_STORAGE_DIR": "crewai-snippets",
        "CREWAI_DISABLE_TELEMETRY": "true",
        "CREWAI_TRACING_ENABLED": "false",
        "OTEL_SDK_DISABLED": "true",
        "LLAMA_INDEX_CACHE_DIR": str(home / ".cache" / "llama_index"),
        "LANGSMITH_TRACING": "false",
        "HF_HUB_OFFLINE": "1",
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_API_BASE": model.base_url,  # what llama-index-llms-openai reads
        "OPENAI_API_KEY": "sk-snippet-test",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "MEM0_DIR": str(home / ".mem0"),
        **_QUIET,
        **server,
    }
    done = subprocess.run(
        [sys.executable, str(SANDBOX), str(tmp_path), str(script)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=work,
        check=False,
    )
    report = f"{name}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-5000:]}"
    if os.environ.get("SNIPPETS_SHOW"):
        print(report)
    assert done.returncode == 0, report
    assert "network attempts: []" in done.stdout, report
    assert "refused writes: []" in done.stdout, report
    assert not model.problems, json.dumps(model.problems, default=str)


@pytest.mark.parametrize(
    "code",
    [
        "open({outside!r}, 'w').write('x')",
        "import os\nos.mkdir({outside!r})",
        "from mnemoweave import Memory\nMemory({outside!r}, embedder='hash')",
    ],
    ids=["open", "mkdir", "store"],
)
def test_the_sandbox_refuses_writes_outside_its_root(code: str, tmp_path: Path) -> None:
    """A snippet that writes outside its temp dir fails, and nothing is written there."""
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    script = root / "snippet.py"
    script.write_text(code.format(outside=str(outside)), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(SANDBOX), str(root), str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(root)},
        check=False,
    )
    assert done.returncode != 0
    assert "PermissionError: snippets may only write under" in done.stderr
    assert "refused writes: [" in done.stdout
    assert str(outside) in done.stdout
    assert not outside.exists()
