"""A child process for the backend contract suite's multi-process and crash tests.

Usage: ``python -m mnemoweave.testing._backend_worker MODE CONFIG_JSON TAG [N]``, where
``CONFIG_JSON`` is what ``Memory.from_config`` opens. Every mode prints ``ready`` once the
store is open, and ``id <memory id> <key>`` for each memory once the call that wrote it has
returned (so the parent knows what was acknowledged); ``key`` names the text (:func:`text`).

* ``write``: waits for a line on stdin (so two writers start together), adds ``N``
  memories for user ``user-TAG`` one by one, closes the store and prints ``done``.
* ``crash``: writes for user ``crash-user`` until killed, alternating single adds with
  ``batch_add`` of :data:`BATCH` records (metadata ``{"batch": key}``).
"""

from __future__ import annotations

import json
import sys

from mnemoweave import Memory

#: Records per ``batch_add`` in ``crash`` mode.
BATCH = 3


def text(tag: str, key: str) -> str:
    """The memory text a worker writes for ``key`` (the parent checks it came back intact)."""
    return f"{tag} note {key} marker{tag}x{key.replace('.', 'y')}"


def _write(mem: Memory, tag: str, count: int) -> None:
    sys.stdin.readline()
    for i in range(count):
        key = str(i)
        added = mem.add(text(tag, key), user_id=f"user-{tag}", infer=False)
        print(f"id {added.results[0].id} {key}", flush=True)


def _crash(mem: Memory, tag: str) -> None:
    i = 0
    while True:
        if i % 2:
            keys = [f"{i}.{j}" for j in range(BATCH)]
            records = [
                {"text": text(tag, k), "user_id": "crash-user", "metadata": {"batch": str(i)}}
                for k in keys
            ]
            done = mem.batch_add(records).results
            print("".join(f"id {r['id']} {k}\n" for r, k in zip(done, keys)), end="", flush=True)
        else:
            added = mem.add(text(tag, str(i)), user_id="crash-user", infer=False)
            print(f"id {added.results[0].id} {i}", flush=True)
        i += 1


def main(argv: list[str]) -> int:
    mode, config, tag = argv[0], json.loads(argv[1]), argv[2]
    mem = Memory.from_config(config)
    print("ready", flush=True)
    if mode == "write":
        _write(mem, tag, int(argv[3]))
    elif mode == "crash":
        _crash(mem, tag)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    mem.close()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
