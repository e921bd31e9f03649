"""A child process for the multi-process and crash tests (run as a script, not collected).

Usage: store_worker.py write PATH TAG N | read PATH SECONDS | crash PATH TAG
Every add prints its id once ``add`` has returned, so the parent knows what was committed.
"""

from __future__ import annotations

import sys
import time

from mnemoweave import Memory


def main() -> int:
    mode, path = sys.argv[1], sys.argv[2]
    mem = Memory(path, embedder="hash")
    if mode == "write":
        tag, n = sys.argv[3], int(sys.argv[4])
        for i in range(n):
            res = mem.add(f"{tag} note {i} marker{tag}x{i}", user_id=f"user-{tag}")
            print(res.results[0].id, flush=True)
    elif mode == "read":
        deadline = time.monotonic() + float(sys.argv[3])
        reads = 0
        while time.monotonic() < deadline:
            for tag in ("a", "b"):
                mem.search("note marker", user_id=f"user-{tag}", limit=5)
                mem.get_all(user_id=f"user-{tag}", limit=5)
                reads += 1
        print(reads, flush=True)
    elif mode == "crash":
        tag = sys.argv[3]
        i = 0
        while True:
            res = mem.add(f"{tag} crash note {i} marker{tag}x{i}", user_id="crash-user")
            print(res.results[0].id, flush=True)
            i += 1
    mem.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
