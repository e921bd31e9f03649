"""Child Python processes that contract tests wait on by what they print, never by the clock.

Each child's stdout is read line by line on a thread; :meth:`Child.expect` waits (with a
generous deadline for a loaded machine) until enough lines with a prefix have arrived, and a
child that dies or stays silent fails the test with its stderr.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import mnemoweave

#: Upper bound for a child to reach a point it announces.
DEADLINE = 180.0


def _env() -> dict[str, str]:
    """The environment, with this mnemoweave's source root first on ``PYTHONPATH``."""
    env = dict(os.environ)
    root = str(Path(mnemoweave.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


class Child:
    """``python ARGS...`` with stdout/stderr collected as they come (stdin piped if asked)."""

    def __init__(self, args: Sequence[str], *, stdin: bool = True) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        self.lines: list[str] = []
        self._errors: list[str] = []
        self._new = threading.Condition()
        self._eof = False
        self._threads = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._read_errors, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._new:
                if line.endswith("\n"):  # a killed child's unfinished last line is dropped
                    self.lines.append(line[:-1])
                self._new.notify_all()
        with self._new:
            self._eof = True
            self._new.notify_all()

    def _read_errors(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._errors.append(line)

    def expect(self, prefix: str, *, count: int = 1, timeout: float = DEADLINE) -> list[str]:
        """Wait until ``count`` lines starting with ``prefix`` arrived; returns them all."""
        deadline = time.monotonic() + timeout
        with self._new:
            while True:
                found = [line for line in self.lines if line.startswith(prefix)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    break
                self._new.wait(left)
        self.kill()
        raise AssertionError(
            f"child never printed {count} x {prefix!r} (exit {self.proc.poll()}); "
            f"last stdout {self.lines[-5:]}, stderr:\n{self.stderr()}"
        )

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL the child (if still running) and collect everything it printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=DEADLINE)
        self._join(DEADLINE)

    def finish(self, timeout: float = DEADLINE) -> int:
        """Close its stdin, wait for it to exit on its own; returns the exit code."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        code = self.proc.wait(timeout=timeout)
        self._join(timeout)
        return code

    def _join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout=timeout)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None and not stream.closed:
                try:
                    stream.close()
                except OSError:
                    pass

    def stderr(self) -> str:
        return "".join(self._errors)

    def completed(self) -> list[str]:
        """The complete lines printed so far (an unfinished last line is not among them)."""
        with self._new:
            return list(self.lines)
