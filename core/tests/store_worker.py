"""A child process for the multi-process and crash tests (run as a script, not collected).

Usage: store_worker.py write PATH TAG N | read PATH | crash PATH TAG
Every mode prints ``ready`` once the store is open. Every add prints its id once ``add`` has
returned, so the parent knows what was committed. ``read`` reads until stdin closes and
prints ``reads N`` (it also checks that a user's count never goes down).
"""

from __future__ import annotations

import sys
import threading

from mnemoweave import Memory


def main() -> int:
    mode, path = sys.argv[1], sys.argv[2]
    mem = Memory(path, embedder="hash")
    print("ready", flush=True)
    if mode == "write":
        tag, n = sys.argv[3], int(sys.argv[4])
        for i in range(n):
            res = mem.add(f"{tag} note {i} marker{tag}x{i}", user_id=f"user-{tag}")
            print(res.results[0].id, flush=True)
    elif mode == "read":
        stop = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        reads = 0
        seen = {"a": 0, "b": 0}
        while not stop.is_set() or reads == 0:
            for tag in ("a", "b"):
                mem.search("note marker", user_id=f"user-{tag}", limit=5)
                count = mem.get_all(user_id=f"user-{tag}", limit=5).total
                if count < seen[tag]:
                    raise SystemExit(f"user-{tag} went from {seen[tag]} to {count} memories")
                seen[tag] = count
                reads += 1
        print(f"reads {reads}", flush=True)
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
