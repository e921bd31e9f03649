"""A child process that runs store operations and kills itself at a chosen moment (not collected).

Usage: ``crash_worker.py serve``. It imports mnemoweave once, prints ``ready``, then reads one
JSON plan per stdin line, ``{"path", "kill", "ops", "out"}``, and forks a writer for each: the
writer opens the store and starts counting moments: just before and just after every
``os.fsync`` and ``os.replace``, just before every SQLite ``COMMIT`` and before the statement
that follows one, and after each op returns. At moment number ``kill`` it SIGKILLs itself, so
nothing (no ``finally``, no atexit) runs. The writer appends ``done I`` to the file ``out``
after op ``I`` returns and ``moments N`` at the end; the server prints ``exit CODE`` (``-9``
for a kill) once the writer is gone. Instead of ``kill``, ``kill_after`` names a call
(``"fsync"`` or ``"replace"``) to die right after the first time it returns; the op
``["crash"]`` dies on the spot (a process killed before it could close the store).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from mnemoweave import Memory

_moment = 0
_kill_at: int | None = None
_kill_after: str | None = None


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _tick() -> None:
    global _moment
    _moment += 1
    if _moment == _kill_at:
        _die()


def _wrap(real: Any, name: str) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _tick()
        out = real(*args, **kwargs)
        if name == _kill_after:
            _die()
        _tick()
        return out

    return wrapped


def _tracer() -> Any:
    after_commit = False

    def trace(sql: str) -> None:
        nonlocal after_commit
        if after_commit:
            after_commit = False
            _tick()
        if sql.lstrip().upper().startswith("COMMIT"):
            _tick()
            after_commit = True

    return trace


def run(plan: dict[str, Any]) -> None:
    """Run one plan in this (forked) process, logging progress to ``plan["out"]``."""
    global _kill_at, _kill_after
    _kill_at = plan.get("kill")
    _kill_after = plan.get("kill_after")
    log = open(plan["out"], "w", buffering=1)  # noqa: SIM115 (SIGKILL closes it)
    mem = Memory(plan["path"], embedder="hash")
    os.fsync = _wrap(os.fsync, "fsync")
    os.replace = _wrap(os.replace, "replace")
    mem._engine.backend.store.conn.set_trace_callback(_tracer())
    for i, (op, *args) in enumerate(plan["ops"]):
        if op == "add":
            out = mem.add(args[0], user_id=args[1]).results[0].id
        elif op == "delete":
            out = str(mem.delete(args[0]).get("erased_from_disk"))
        elif op == "batch_delete":
            out = str(len(mem.batch_delete(args[0]).results))
        elif op == "update":
            out = mem.update(args[0], args[1]).id
        elif op == "checkpoint":
            out = ""
            mem.checkpoint()
        elif op == "batch_add":
            records = [{"text": text, "user_id": args[1]} for text in args[0]]
            out = str(len(mem.batch_add(records).results))
        elif op == "close":
            out = ""
            mem.close()
        elif op == "crash":
            _die()
        else:
            raise SystemExit(f"unknown op {op!r}")
        log.write(f"done {i} {out}".rstrip() + "\n")
        _tick()
    log.write(f"moments {_moment}\n")


def main() -> int:
    if sys.argv[1:] != ["serve"]:
        raise SystemExit(__doc__)
    print("ready", flush=True)
    for line in sys.stdin:
        plan = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                run(plan)
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(f"exit {code}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
