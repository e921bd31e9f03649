"""End-to-end smoke test of the mem0 side of the benchmark harness.

Run from mnemoweave's dev venv (it needs numpy, and mnemoweave for the scripted LLM server)::

    bash bench/setup_mem0.sh
    /work/venv-dev/bin/python bench/_mem0_smoke.py

It proves, with the socket guard on (only loopback allowed), that the worker:

1. stores 50 raw records for 2 users (``add_raw``, infer=False) with parent-supplied vectors,
2. searches inside each user's scope and returns the parent's vectors' neighbours (recall@10
   against exact brute force over that user's rows),
3. counts the rows in a fresh Memory over the same path (``count``) and reopens (``reopen``),
4. runs ``add_infer`` end to end against mnemoweave's ``ScriptedOpenAIServer`` (or, when
   mnemoweave is not importable, a tiny stdlib stub, and says so) with replies valid for mem0's
   extraction schema, and shows what mem0 sent,
5. runs the two concurrency shapes on tiny inputs (threads in one process, two processes on
   one store) and reports errors and lost writes.

Prints a markdown summary; exits non-zero on the first failed check.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _mem0_client import SETUP_HINT, Mem0Worker, mem0_available

USERS = ("alice", "bob")
FACTS = ("Alice loves green tea", "Alice lives in Lisbon")
CHAT = [
    {"role": "user", "content": "Hi, I'm Alice. I love green tea and I live in Lisbon."},
    {"role": "assistant", "content": "Nice to meet you, Alice!"},
]
CHAT_2 = [{"role": "user", "content": "What a sunny day."}]


def check(condition: bool, what: str) -> None:
    """Fail loudly (exit 1) when a smoke check does not hold."""
    if not condition:
        print(f"SMOKE FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok  {what}")


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """``n`` random unit vectors (float32): the parent normalises, as mnemoweave does."""
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def transcript(messages: list[dict[str, str]]) -> str:
    """The exact text mem0's infer pipeline embeds to find existing memories.

    mem0/memory/utils.py ``parse_messages``: ``"<role>: <content>\\n"`` per message.
    """
    return "".join(f"{m['role']}: {m['content']}\n" for m in messages)


# --------------------------------------------------------------------------- LLM servers


class _StubServer:
    """Stand-in for ``ScriptedOpenAIServer`` when mnemoweave is not importable (stdlib only).

    Answers ``POST /v1/chat/completions`` with queued JSON replies and records each request
    body; usage tokens are a rough ``len/4``.
    """

    def __init__(self) -> None:
        self.replies: list[Any] = []
        self.bodies: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.bodies.append(body)
                content = json.dumps(stub.replies.pop(0))
                prompt = sum(len(str(m.get("content", ""))) for m in body["messages"]) // 4
                payload = json.dumps(
                    {
                        "id": "chatcmpl-stub",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": content},
                            }
                        ],
                        "usage": {
                            "prompt_tokens": prompt,
                            "completion_tokens": len(content) // 4,
                            "total_tokens": prompt + len(content) // 4,
                        },
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def enqueue(self, *replies: Any) -> None:
        self.replies.extend(replies)

    def chat_bodies(self) -> list[dict[str, Any]]:
        return list(self.bodies)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def llm_server() -> Iterator[tuple[str, Any]]:
    """mnemoweave's ScriptedOpenAIServer when importable, else the stub; yields (kind, server)."""
    try:
        from mnemoweave.testing import ScriptedOpenAIServer
    except ImportError:
        stub = _StubServer()
        try:
            yield "stdlib stub (mnemoweave.testing not importable)", stub
        finally:
            stub.stop()
        return
    with ScriptedOpenAIServer(validate_json=True) as server:
        yield "mnemoweave.testing.ScriptedOpenAIServer", server


def chat_bodies(server: Any) -> list[dict[str, Any]]:
    """Request bodies of the chat calls the server received, for either server kind."""
    if isinstance(server, _StubServer):
        return server.chat_bodies()
    return [r.body for r in server.chat_requests]


# --------------------------------------------------------------------------- steps


def raw_and_search(worker: Mem0Worker, dim: int, rng: np.random.Generator) -> dict[str, Any]:
    """Steps 1-3: raw adds for 2 users, scoped search with recall@10, fresh-open count."""
    vecs = unit_rows(rng, 50, dim)
    records = [
        {
            "text": f"{USERS[i % 2]} note {i}",
            "user_id": USERS[i % 2],
            "vector": vecs[i],
            "metadata": {"i": i},
        }
        for i in range(50)
    ]
    added = worker.add_raw(records)
    check(added["done"] == 50 and len(set(added["ids"])) == 50, "add_raw stored 50 records")
    id_of = dict(zip(range(50), added["ids"]))

    recalls = []
    search_s = []
    for u, user in enumerate(USERS):
        own = [i for i in range(50) if i % 2 == u]
        for q in range(5):
            query = unit_rows(rng, 1, dim)[0]
            exact = sorted(own, key=lambda i: -float(vecs[i] @ query))[:10]
            got = worker.search(f"{user} question {q}", query, user, limit=10)
            search_s.append(got["elapsed_s"])
            ids = [r["id"] for r in got["results"]]
            check(
                all(r["user_id"] == user for r in got["results"]),
                f"search for {user} #{q} returns only {user}'s rows",
            )
            recalls.append(len(set(ids) & {id_of[i] for i in exact}) / 10)
        probe = own[3]
        top = worker.search(records[probe]["text"], vecs[probe], user, limit=3)["results"]
        check(
            bool(top) and top[0]["id"] == id_of[probe],
            f"searching {user}'s stored vector finds that record first",
        )

    whole = worker.count()
    check(whole["rows"] == 50 and whole["index_ntotal"] == 50, "fresh open sees 50 rows")
    for user in USERS:
        check(worker.count(user)["rows"] == 25, f"fresh open sees 25 rows for {user}")
    reopened = worker.reopen()
    check(reopened["rows"] == 50, "reopen sees 50 rows")
    return {
        "add_p50_ms": 1000 * float(np.median(added["latencies_s"])),
        "search_p50_ms": 1000 * float(np.median(search_s)),
        "recall_at_10": float(np.mean(recalls)),
        "open_s": reopened["open_s"],
    }


def infer(worker: Mem0Worker, server: Any, dim: int, rng: np.random.Generator) -> dict[str, Any]:
    """Step 4: add(infer=True) end to end with mem0-schema replies from the scripted server."""
    fact_vecs = unit_rows(rng, len(FACTS), dim)
    # The one reply shape mem0 2.0.18 parses (mem0/configs/prompts.py ADDITIVE_EXTRACTION_PROMPT,
    # "OUTPUT FORMAT"; read by mem0/memory/main.py as json.loads(reply)["memory"]).
    facts = [{"id": str(i), "text": t, "attributed_to": "user"} for i, t in enumerate(FACTS)]
    server.enqueue({"memory": facts}, {"memory": []})
    vectors = {transcript(CHAT): unit_rows(rng, 1, dim)[0], **dict(zip(FACTS, fact_vecs))}
    first = worker.add_infer(CHAT, "alice", timestamp="2025-03-01T10:00:00Z", vectors=vectors)
    events = first["result"]["results"]
    check(
        [e["memory"] for e in events] == list(FACTS) and all(e["event"] == "ADD" for e in events),
        "add_infer stored the two scripted facts as ADD events",
    )
    check(first["llm"]["calls"] == 1, "one LLM call for the add")
    check(first["embed"]["misses"] == 0, "every text mem0 embedded had a parent vector")
    check(first["timestamp_ignored"], "timestamp= is reported as not passed to mem0 OSS")

    second = worker.add_infer(CHAT_2, "alice", vectors={transcript(CHAT_2): fact_vecs[0]})
    check(
        second["result"]["results"] == [] and second["llm"]["calls"] == 1,
        "an empty extraction stores nothing (still one LLM call)",
    )

    top = worker.search("what does alice drink?", fact_vecs[0], "alice", limit=1)["results"]
    check(bool(top) and top[0]["memory"] == FACTS[0], "the inferred fact is searchable")

    bodies = chat_bodies(server)
    check(len(bodies) == 2, "the server saw exactly two chat requests")
    user_prompt = bodies[1]["messages"][1]["content"]
    existing = next(s for s in user_prompt.split("\n\n## ") if s.startswith("Existing Memories"))
    check(
        '"id": "0"' in existing and FACTS[0] in existing,
        "the second prompt lists existing memories under integer ids",
    )
    return {
        "llm_calls_per_add": [r["llm"]["calls"] for r in (first, second)],
        "prompt_tokens": [r["llm"]["prompt_tokens"] for r in (first, second)],
        "completion_tokens": [r["llm"]["completion_tokens"] for r in (first, second)],
        "response_format": bodies[0].get("response_format"),
        "request_keys": sorted(bodies[0]),
        "system_prompt_chars": len(bodies[0]["messages"][0]["content"]),
        "existing_memories_sent": existing.replace("\n", " ")[:200],
    }


def concurrency(root: Path, dim: int, rng: np.random.Generator, per: int) -> dict[str, Any]:
    """Step 5, in miniature: 4 threads x ``per`` adds, then 2 processes x ``per`` adds."""

    def records(tag: str, n: int) -> list[dict[str, Any]]:
        vecs = unit_rows(rng, n, dim)
        return [{"text": f"{tag} {i}", "user_id": f"u{i % 3}", "vector": vecs[i]} for i in range(n)]

    out: dict[str, Any] = {}
    with Mem0Worker(socket_guard=True) as w:
        w.init(root / "threads", dim)
        res = w.add_concurrent(records("thread", 4 * per), threads=4)
        seen = w.count()
        out["threads"] = {
            "attempted": 4 * per,
            "errors": len(res["errors"]),
            "lost": 4 * per - len(res["errors"]) - seen["rows"],
            "rows": seen["rows"],
            "history_adds": seen["history_adds"],
            "wall_s": res["elapsed_s"],
        }

    shared = root / "processes"
    with Mem0Worker(socket_guard=True) as a, Mem0Worker(socket_guard=True) as b:
        for w in (a, b):
            w.init(shared, dim)
        results: dict[str, Any] = {}
        errors: list[str] = []

        def run(name: str, worker: Mem0Worker) -> None:
            try:
                results[name] = worker.add_raw(records(name, per))
            except Exception as exc:  # the study counts failures
                errors.append(f"{name}: {exc}")

        threads = [threading.Thread(target=run, args=(n, w)) for n, w in (("p1", a), ("p2", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seen = a.count()
        stored = sum(r["done"] for r in results.values())
        out["processes"] = {
            "attempted": 2 * per,
            "errors": len(errors),
            "lost": stored - seen["rows"],
            "rows": seen["rows"],
            "history_adds": seen["history_adds"],
            "wall_s": max(r["elapsed_s"] for r in results.values()),
        }
    return out


def main() -> int:
    """Run every step; print a markdown summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--per", type=int, default=25, help="adds per thread/process")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args()
    if not mem0_available():
        print(f"mem0 is not set up: {SETUP_HINT}", file=sys.stderr)
        return 2

    rng = np.random.default_rng(7)
    real_mem0_dir = Path.home() / ".mem0"
    existed_before = real_mem0_dir.exists()
    root = Path(tempfile.mkdtemp(prefix="mem0-smoke-"))
    try:
        with llm_server() as (kind, server), Mem0Worker(socket_guard=True) as worker:
            print(f"LLM server: {kind} at {server.base_url}")
            info = worker.init(root / "main", args.dim, llm_base_url=server.base_url)
            print(
                f"mem0 {info['mem0_version']} opened in {info['open_s']:.3f}s; "
                f"files under {root / 'main'}"
            )
            raw = raw_and_search(worker, args.dim, rng)
            inferred = infer(worker, server, args.dim, rng)
            stats = worker.stats()
        conc = concurrency(root, args.dim, rng, args.per)
        check(stats["blocked_connections_total"] == [], "no non-loopback connection attempted")
        check(existed_before or not real_mem0_dir.exists(), "nothing written to the real ~/.mem0")
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    print("\n| check | value |\n| --- | --- |")
    for key, value in {**raw, **inferred}.items():
        shown = f"{value:.4g}" if isinstance(value, float) else json.dumps(value)
        print(f"| {key} | {shown} |")
    print(f"| embed hits / misses (whole run) | {stats['embed_hits']} / {stats['embed_misses']} |")
    print(
        "\n| concurrency | attempted | errors raised | writes lost | rows | history ADDs | wall s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, row in conc.items():
        print(
            f"| {name} | {row['attempted']} | {row['errors']} | {row['lost']} | {row['rows']} "
            f"| {row['history_adds']} | {row['wall_s']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
