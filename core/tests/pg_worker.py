"""A child process for the PostgreSQL backend tests (run as a script, not collected).

Usage: pg_worker.py write URL TAG N | open URL
``write`` prints ``ready`` once the collection is open, then each added id once ``add`` has
returned (so the parent knows what was committed), then ``done``. ``open`` waits for a line
on stdin (so several children open a new collection at the same moment), opens it, writes
one memory and prints ``opened``.
"""

from __future__ import annotations

import sys

from mnemoweave import Memory


def main() -> int:
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "open":
        sys.stdin.readline()
        mem = Memory(backend=url, embedder="hash")
        mem.add("opened by a racing process", user_id="racer", infer=False)
        print("opened", flush=True)
    else:
        tag, n = sys.argv[3], int(sys.argv[4])
        mem = Memory(backend=url, embedder="hash")
        print("ready", flush=True)
        for i in range(n):
            res = mem.add(f"{tag} note {i} marker{tag}x{i}", user_id=f"user-{tag}", infer=False)
            print(res.results[0].id, flush=True)
        print("done", flush=True)
    mem.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
