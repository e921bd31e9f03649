"""``LiveServer``: a real ``mnemoweave-server`` under uvicorn on 127.0.0.1, for tests.

It runs ``python -m mnemoweave_server serve`` in a child process on a free port with an admin
key of its own, waits until ``/ready`` answers (never a fixed sleep), and stops the child on
``stop()``. The adapter contract suite uses :func:`shared_live_server` to run every adapter
once against a remote client.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from mnemoweave.remote import AsyncMemoryClient, MemoryClient

from ._keys import KeyStore, NewKey

__all__ = ["LiveServer", "free_port", "shared_live_server"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """One server process over the store in ``path`` (hash embedder and no limit by default).

    ``args`` are extra ``serve`` flags; ``env`` extra environment variables for the child.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        workers: int = 1,
        embedder: str = "hash",
        rate_limit: float = 0,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 90.0,
    ) -> None:
        self.path = Path(path)
        self.workers = workers
        self.embedder = embedder
        self.rate_limit = rate_limit
        self.args = list(args)
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.port = 0
        self.keys = KeyStore(self.path / "server" / "keys.json")
        self.admin_key = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def create_key(self, name: str = "test", **scope: Any) -> NewKey:
        """A new key in this server's keys file (it is read live, no restart needed)."""
        return self.keys.create(name, **scope)

    def client(self, key: str | None = None, **options: Any) -> MemoryClient:
        return MemoryClient(self.url, api_key=key or self.admin_key, **options)

    def async_client(self, key: str | None = None, **options: Any) -> AsyncMemoryClient:
        return AsyncMemoryClient(self.url, api_key=key or self.admin_key, **options)

    def start(self) -> LiveServer:
        if not self.admin_key:
            self.admin_key = self.create_key("live-server-admin", admin=True).key
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "mnemoweave_server",
            "serve",
            "--backend",
            str(self.path),
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--embedder",
            self.embedder,
            "--rate-limit",
            str(self.rate_limit),
            "--log-level",
            "warning",
            *self.args,
        ]
        env = {**os.environ, **self.env}
        env.pop("MNEMOWEAVE_SERVER_SETTINGS", None)
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self._process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mnemoweave-server exited during startup:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"mnemoweave-server not ready in {self.startup_timeout}s:\n{self.output()}"
        )

    def output(self) -> str:
        """What the server printed so far."""
        if self._log is None:
            return ""
        self._log.seek(0)
        text: str = self._log.read().decode(errors="replace")
        return text

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_SHARED: LiveServer | None = None


def shared_live_server(config: Any) -> LiveServer:
    """One live server per pytest session (``config`` is ``request.config``), stopped at the
    end of the session. Tests sharing it reset the store first (the admin key may)."""
    global _SHARED
    if _SHARED is None:
        folder = Path(tempfile.mkdtemp(prefix="mnemoweave-live-"))
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
        server = LiveServer(folder / "store").start()
        config.add_cleanup(server.stop)
        _SHARED = server

        def forget() -> None:
            global _SHARED
            _SHARED = None

        config.add_cleanup(forget)
    return _SHARED
