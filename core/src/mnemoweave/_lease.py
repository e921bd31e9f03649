"""Scope leases: infer adds of one exact scope reconcile one at a time, across processes.

An infer add reads the scope's memories, waits for the LLM, then applies its reply. Holding
SQLite's write lock that long would stall every writer of the store, so the add instead takes
a lease row for its scope in a short transaction, and adds of the same scope in any process
wait for it; adds of other scopes never wait. A lease names its holder (a random token, the
process id and the host) and expires, so a holder that crashed or hangs cannot block the scope
for good: a lease that expired, or whose process on this host is gone, is taken over. The
holder checks its lease again in the transaction that applies the reply, and a reply planned
under a lease that was taken over meanwhile is never applied (the add plans again).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field

from .backends.base import Writer

#: How often an add plans again after its lease was taken over before it gives up.
ATTEMPTS = 3


def _host() -> str:
    """This machine and PID namespace: where a lease's process id means something."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}|{namespace}"


_HOST = _host()


def _alive(pid: int, host: str) -> bool:
    """Whether a lease holder may still run (only a process of this host can be ruled out)."""
    if host != _HOST or pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    try:  # a killed process its parent has not reaped yet is a zombie: dead for us
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


@dataclass(slots=True)
class Lease:
    """One add's claim on a scope; ``held`` says whether it holds the scope right now."""

    scope: str
    ttl: float
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    held: bool = False
    _pause: float = 0.005

    def pause(self) -> float:
        """Seconds to wait before trying again (growing to a fifth of a second)."""
        self._pause = min(self._pause * 1.5, 0.2)
        return self._pause

    def try_take(self, w: Writer) -> bool:
        """Take the lease unless a live holder has it (inside the writer's transaction)."""
        now = time.time()
        row = w.lease_holder(self.scope)
        if row is not None and row[0] != self.owner and row[3] > now and _alive(row[1], row[2]):
            self.held = False
            return False
        w.put_lease(self.scope, self.owner, os.getpid(), _HOST, now + self.ttl)
        self.held = True
        return True

    def check(self, w: Writer) -> None:
        """Raise :class:`LeaseLost` unless this add still holds the scope."""
        row = w.lease_holder(self.scope)
        if row is None or row[0] != self.owner:
            self.held = False
            raise LeaseLost(self.scope)

    def release(self, w: Writer) -> None:
        """Give the scope back; the caller clears ``held`` once its transaction committed."""
        w.drop_lease(self.scope, self.owner)


class LeaseLost(Exception):
    """Another add took the scope over: this add's plan may be stale and must be redone.

    Control flow inside the pipeline; it never reaches a caller.
    """


def ttl_for(llm: object) -> float:
    """How long a reconciliation may legitimately hold its scope: two LLM calls with retries."""
    config = getattr(llm, "config", None)
    timeout = getattr(config, "timeout", None)
    retries = getattr(config, "max_retries", None)
    if not isinstance(timeout, int | float) or not isinstance(retries, int):
        return 600.0
    return 2 * float(timeout) * (retries + 1) + 60.0
