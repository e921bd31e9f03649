"""A child process for the PostgreSQL backend tests (run as a script, not collected).

Usage: pg_worker.py write URL TAG N | open URL | batches URL SIZE | read URL | peer URL NAME
``write`` prints ``ready`` once the collection is open, then each added id once ``add`` has
returned (so the parent knows what was committed), then ``done``. ``open`` waits for a line
on stdin (so several children open a new collection at the same moment), opens it, writes
one memory and prints ``opened``. ``batches`` adds batches of SIZE records until killed,
printing ``batch I`` after each has returned. ``read`` searches and counts until stdin
closes, checking that a user's count never goes down, then prints ``reads N``. ``peer``
opens its own store (its own pool: another "machine"), prints ``ready NAME``, then answers
stdin lines ``add USER TEXT`` (``added ID``), ``get ID`` (``got TEXT`` or ``got -``) and
``search USER QUERY`` (``found ID,ID,...``).
"""

from __future__ import annotations

import sys
import threading

from mnemoweave import Memory


def read(mem: Memory, users: list[str]) -> int:
    stop = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    reads, seen = 0, dict.fromkeys(users, 0)
    while not stop.is_set() or reads == 0:
        for user in users:
            mem.search("note marker", user_id=user, limit=5)
            count = mem.get_all(user_id=user, limit=1).total
            if count < seen[user]:
                raise SystemExit(f"{user} went from {seen[user]} to {count} memories")
            seen[user] = count
            reads += 1
    return reads


def peer(mem: Memory, name: str) -> None:
    from mnemoweave.errors import NotFoundError

    print(f"ready {name}", flush=True)
    for line in sys.stdin:
        cmd, _, rest = line.rstrip("\n").partition(" ")
        if cmd == "add":
            user, _, text = rest.partition(" ")
            print(f"added {mem.add(text, user_id=user, infer=False).results[0].id}", flush=True)
        elif cmd == "get":
            try:
                print(f"got {mem.get(rest).memory}", flush=True)
            except NotFoundError:
                print("got -", flush=True)
        elif cmd == "search":
            user, _, query = rest.partition(" ")
            ids = [r.id for r in mem.search(query, user_id=user).results]
            print(f"found {','.join(ids)}", flush=True)


def main() -> int:
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "peer":
        mem = Memory(backend=url, embedder="hash")
        peer(mem, sys.argv[3])
    elif mode == "open":
        sys.stdin.readline()
        mem = Memory(backend=url, embedder="hash")
        mem.add("opened by a racing process", user_id="racer", infer=False)
        print("opened", flush=True)
    elif mode == "batches":
        size = int(sys.argv[3])
        mem = Memory(backend=url, embedder="hash")
        print("ready", flush=True)
        i = 0
        while True:
            mem.batch_add([{"text": f"batch {i} item {j}", "user_id": "b"} for j in range(size)])
            print(f"batch {i}", flush=True)
            i += 1
    elif mode == "read":
        mem = Memory(backend=url, embedder="hash")
        print("ready", flush=True)
        print(f"reads {read(mem, sys.argv[3].split(','))}", flush=True)
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
