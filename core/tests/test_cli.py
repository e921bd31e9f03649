"""The ``mnemoweave`` command, as a real subprocess: output, exit codes, export/import, progress."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest


def _clean_env() -> dict[str, str]:
    """The environment without variables that make rich treat a pipe as a terminal."""
    drop = {"FORCE_COLOR", "FORCE_TERMINAL", "TTY_COMPATIBLE", "TTY_INTERACTIVE"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _run(store: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**_clean_env(), "MNEMOWEAVE_EMBEDDER": "hash", "MNEMOWEAVE_HOME": str(store)}
    done = subprocess.run(
        [sys.executable, "-m", "mnemoweave", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def _add(store: Path, text: str, user: str) -> str:
    out = _run(store, "add", text, "--user-id", user, "--json").stdout
    return str(json.loads(out)[0]["id"])


def test_add_search_show_history_update_delete(tmp_path: Path) -> None:
    store = tmp_path / "s"
    mid = _add(store, "Alice likes green tea", "alice")
    _add(store, "Bob likes green tea too", "bob")
    hits = json.loads(_run(store, "search", "tea", "-u", "alice", "--explain", "--json").stdout)
    assert [h["id"] for h in hits] == [mid]
    assert set(hits[0]["explain"]) >= {"dense", "keyword", "fused"}
    shown = json.loads(_run(store, "show", mid, "--json").stdout)
    assert shown["memory"] == "Alice likes green tea"
    _run(store, "update", mid, "Alice likes oolong")
    events = json.loads(_run(store, "history", mid, "--json").stdout)
    assert [e["event"] for e in events] == ["ADD", "UPDATE"]
    listed = json.loads(_run(store, "list", "-u", "alice", "--json").stdout)
    assert listed["total"] == 1
    scopes = json.loads(_run(store, "scopes", "--json").stdout)
    assert sorted(s["user_id"] for s in scopes) == ["alice", "bob"]
    stats = json.loads(_run(store, "stats", "--json").stdout)
    assert stats["memories"] == 2
    assert stats["versions"] == 1
    assert stats["model"]
    _run(store, "delete", mid, "--yes")
    assert json.loads(_run(store, "list", "-u", "alice", "--json").stdout)["total"] == 0
    assert json.loads(_run(store, "list", "-u", "bob", "--json").stdout)["total"] == 1
    assert _run(store, "verify").returncode == 0


def test_exit_codes_and_error_messages(tmp_path: Path) -> None:
    store = tmp_path / "s"
    missing = _run(store, "show", "no-such-id", check=False)
    assert missing.returncode == 3
    assert "NotFoundError" in missing.stderr
    bad = _run(store, "add", "x", "-u", "a", "--metadata", "[1]", check=False)
    assert bad.returncode == 2
    assert "ValidationError" in bad.stderr
    noscope = _run(store, "search", "tea", check=False)
    assert noscope.returncode == 2
    junk = tmp_path / "junk.jsonl"
    junk.write_text("hello\n", encoding="utf-8")
    notours = _run(store, "import", str(junk), check=False)
    assert notours.returncode == 2
    assert "not a mnemoweave export" in notours.stderr
    assert _run(store, "frobnicate", check=False).returncode == 2


def test_export_import_round_trip_is_exact_and_idempotent(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    mid = _add(a, "Alice likes green tea", "alice")
    _add(a, "Bob plays chess", "bob")
    _run(a, "update", mid, "Alice likes oolong")
    first, second = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    _run(a, "export", str(first))
    done = json.loads(_run(b, "import", str(first), "--json").stdout)
    assert done == {"imported": 2, "skipped": 0}
    _run(b, "export", str(second))
    assert first.read_text(encoding="utf-8") == second.read_text(encoding="utf-8")
    again = json.loads(_run(b, "import", str(first), "--json").stdout)
    assert again == {"imported": 0, "skipped": 2}

    # history entries' own ids are positions in each store's log; everything else is kept
    def events(store: Path) -> list[dict[str, object]]:
        rows = json.loads(_run(store, "history", mid, "--json").stdout)
        return [{k: v for k, v in row.items() if k != "id"} for row in rows]

    assert events(b) == events(a)
    assert len(events(a)) == 2


def _on_tty(store: Path, *args: str) -> tuple[int, str]:
    """Run the command with stdout and stderr on a pseudo-terminal; returns (code, screen)."""
    env = {
        **_clean_env(),
        "MNEMOWEAVE_EMBEDDER": "hash",
        "MNEMOWEAVE_HOME": str(store),
        "COLUMNS": "160",
        "TERM": "xterm",
    }
    env.pop("NO_COLOR", None)
    env.pop("CI", None)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mnemoweave", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.timeout(300)
def test_import_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    file = tmp_path / "dump.jsonl"
    lines = [{"text": f"fact number {i}", "user_id": f"u{i % 3}"} for i in range(300)]
    seed = tmp_path / "seed.py"
    seed.write_text(
        "import json, sys\nfrom mnemoweave import Memory\n"
        f"m = Memory({str(a)!r}, embedder='hash')\n"
        f"m.batch_add(json.loads(open({str(tmp_path / 'r.json')!r}).read()))\nm.close()\n",
        encoding="utf-8",
    )
    (tmp_path / "r.json").write_text(json.dumps(lines), encoding="utf-8")
    subprocess.run([sys.executable, str(seed)], check=True, timeout=120)
    _run(a, "export", str(file))
    code, screen = _on_tty(b, "import", str(file), "--batch-size", "50")
    assert code == 0, screen
    assert "300/300" in screen
    assert "memories/s" in screen
    plain = _run(c, "import", str(file), "--batch-size", "50")
    assert "memories/s" not in plain.stderr
    assert "imported 300 memories" in plain.stderr
