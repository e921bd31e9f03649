"""A child process for the cross-process reconciliation tests (run as a script, not collected).

Usage: reconcile_worker.py PATH BASE_URL USER_ID TEXT
Prints "ready" once the store is open, waits for a line on stdin, prints "adding", runs one
infer add and prints its events as JSON.
"""

from __future__ import annotations

import json
import sys

from mnemoweave import Memory


def main() -> int:
    path, base_url, user_id, text = sys.argv[1:5]
    llm = {"model": "m", "base_url": base_url, "api_key": "k", "timeout": 60, "max_retries": 0}
    with Memory(path, embedder="hash", llm=llm) as mem:
        print("ready", flush=True)
        sys.stdin.readline()
        print("adding", flush=True)
        result = mem.add(text, user_id=user_id)
        print(json.dumps([[e.event, e.memory] for e in result.results]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
