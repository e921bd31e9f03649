"""``NetworkGuard``: refuse, and record, every connection or DNS lookup off this machine.

Tests use it to prove that mnemoweave (and a framework running on it) stays offline: loopback
addresses and Unix sockets pass, anything else raises and is appended to ``attempts``.
``python -m mnemoweave.testing.no_network SCRIPT [ARGS]`` runs a script under the guard and
prints the attempts at exit (after any exit-time telemetry flush).
"""

from __future__ import annotations

import socket
from typing import Any

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "0.0.0.0"})


def _is_local(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, bytes):
        host = host.decode()
    return host is None or str(host) in LOOPBACK or str(host).startswith("/")


class NetworkGuard:
    """Context manager patching ``socket`` so only loopback traffic gets through.

    With ``raise_as="oserror"`` (default) refused calls raise ``ConnectionRefusedError`` /
    ``socket.gaierror`` like an offline machine would; ``raise_as="assert"`` raises
    ``AssertionError`` so a test fails at the offending call.
    """

    def __init__(self, *, raise_as: str = "oserror") -> None:
        if raise_as not in ("oserror", "assert"):
            raise ValueError("raise_as must be 'oserror' or 'assert'")
        self.raise_as = raise_as
        self.attempts: list[tuple[str, Any]] = []
        self._saved: dict[str, Any] = {}

    def _refuse(self, kind: str, target: Any, dns: bool) -> Exception:
        self.attempts.append((kind, target))
        message = f"network blocked by mnemoweave.testing.NetworkGuard: {kind} {target!r}"
        if self.raise_as == "assert":
            return AssertionError(message)
        return socket.gaierror(message) if dns else ConnectionRefusedError(message)

    def install(self) -> NetworkGuard:
        if self._saved:
            return self
        real: dict[str, Any] = {
            "connect": socket.socket.connect,
            "connect_ex": socket.socket.connect_ex,
            "getaddrinfo": socket.getaddrinfo,
            "gethostbyname": socket.gethostbyname,
        }
        self._saved = real
        guard = self

        def connect(sock: socket.socket, address: Any) -> Any:
            if sock.family == getattr(socket, "AF_UNIX", None) or _is_local(address):
                return real["connect"](sock, address)
            raise guard._refuse("connect", address, dns=False)

        def connect_ex(sock: socket.socket, address: Any) -> Any:
            if sock.family == getattr(socket, "AF_UNIX", None) or _is_local(address):
                return real["connect_ex"](sock, address)
            raise guard._refuse("connect_ex", address, dns=False)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if _is_local(host):
                return real["getaddrinfo"](host, *args, **kwargs)
            raise guard._refuse("getaddrinfo", host, dns=True)

        def gethostbyname(host: str) -> str:
            if _is_local(host):
                return str(real["gethostbyname"](host))
            raise guard._refuse("gethostbyname", host, dns=True)

        socket.socket.connect = connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
        socket.getaddrinfo = getaddrinfo
        socket.gethostbyname = gethostbyname
        return self

    def uninstall(self) -> None:
        if not self._saved:
            return
        socket.socket.connect = self._saved["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = self._saved["connect_ex"]  # type: ignore[method-assign]
        socket.getaddrinfo = self._saved["getaddrinfo"]
        socket.gethostbyname = self._saved["gethostbyname"]
        self._saved = {}

    def __enter__(self) -> NetworkGuard:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()
