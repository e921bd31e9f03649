"""Run a Python script with every non-loopback connection refused and recorded.

    python -m mnemoweave.testing.no_network SCRIPT [ARGS...]

At exit it prints ``network attempts: [...]`` (registered first, so it runs after any
exit-time flush of the script's libraries), which tests assert is empty.
"""

from __future__ import annotations

import atexit
import runpy
import sys

from ._network import NetworkGuard


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m mnemoweave.testing.no_network SCRIPT [ARGS...]")
    guard = NetworkGuard().install()
    atexit.register(lambda: print(f"network attempts: {guard.attempts}", flush=True))
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
