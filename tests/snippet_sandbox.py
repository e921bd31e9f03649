"""Run one documentation snippet offline, refusing every write outside a root directory.

    python tests/snippet_sandbox.py ROOT SNIPPET.py

Used by ``test_doc_snippets.py``. An audit hook refuses (with ``PermissionError``) any file
opened for writing, directory made, file removed or renamed, and SQLite database opened
outside ``ROOT`` (``/dev`` is allowed); ``mnemoweave.testing.NetworkGuard`` refuses every
connection off this machine. At exit it prints ``network attempts: [...]`` and
``refused writes: [...]``, which the test asserts are empty.
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys

from mnemoweave.testing import NetworkGuard

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_PATH_EVENTS = {
    "os.mkdir": 0,
    "os.remove": 0,
    "os.rmdir": 0,
    "os.rename": 1,
    "os.symlink": 1,
    "os.link": 1,
    "os.truncate": 0,
    "shutil.rmtree": 0,
    "shutil.copyfile": 1,
    "shutil.move": 1,
}


def _install(root: str) -> list[str]:
    allowed = (os.path.realpath(root) + os.sep, "/dev/")
    refused: list[str] = []

    def outside(path: object) -> bool:
        if isinstance(path, int) or path is None:
            return False
        text = os.fsdecode(path) if isinstance(path, bytes | os.PathLike) else str(path)
        if text in {"", ":memory:"} or text.startswith("file::memory:"):
            return False
        full = os.path.realpath(os.path.join(os.getcwd(), text.removeprefix("file:")))
        return not (full + os.sep).startswith(allowed)

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+")
            )
            target = path if writing else None
        elif event == "sqlite3.connect":
            target = args[0]
        elif event in _PATH_EVENTS:
            target = args[_PATH_EVENTS[event]]
        else:
            return
        if target is not None and outside(target):
            refused.append(f"{event} {target}")
            raise PermissionError(f"snippets may only write under {root}: {event} {target}")

    sys.addaudithook(hook)
    return refused


def main() -> None:
    root, script = sys.argv[1], sys.argv[2]
    guard = NetworkGuard().install()
    refused = _install(root)
    atexit.register(
        lambda: print(f"network attempts: {guard.attempts}\nrefused writes: {refused}", flush=True)
    )
    sys.argv = [script]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
