"""One PostgreSQL server per pytest session, for tests of the PostgreSQL backend and of
anything that runs on it (the adapters' contract suites, the benchmarks' smoke tests).

``$MNEMOWEAVE_TEST_POSTGRES_URL`` names an existing server; otherwise the ``pgserver``
package starts a private one in a temporary directory, on first use, and stops it when the
session ends. Each caller then works in its own collection (:func:`postgres_store_url`), so
tests sharing the server never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

__all__ = ["postgres_store_url", "shared_postgres_url"]

ENV = "MNEMOWEAVE_TEST_POSTGRES_URL"
_SHARED: str | None = None


def shared_postgres_url(config: Any) -> str:
    """The session's server URL (``config`` is pytest's ``request.config``).

    Skips the calling test when there is neither ``$MNEMOWEAVE_TEST_POSTGRES_URL`` nor a
    ``pgserver`` wheel for this Python (none exists for 3.13 yet).
    """
    global _SHARED
    given = os.environ.get(ENV)
    if given:
        return given
    if _SHARED is not None:
        return _SHARED
    import pytest

    try:
        import pgserver
    except ImportError:
        pytest.skip(f"pgserver is not installable on this Python; set ${ENV}")
    # Its own directory, not pytest's rotating basetemp (a concurrent pytest run may prune
    # that); short, so the Unix socket path stays under its length limit.
    data = Path(tempfile.mkdtemp(prefix="mw-pg-"))
    server = pgserver.get_server(data, cleanup_mode="stop")  # type: ignore[attr-defined]

    def stop() -> None:
        global _SHARED
        _SHARED = None
        server.cleanup()
        shutil.rmtree(data, ignore_errors=True)

    config.add_cleanup(stop)
    _SHARED = str(server.get_uri())
    return _SHARED


def postgres_store_url(server_url: str, *, prefix: str = "t", **options: str) -> str:
    """``server_url`` with a fresh ``collection`` (and any backend ``options``) appended."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    query = "&".join(f"{k}={v}" for k, v in {"collection": name, **options}.items())
    return f"{server_url}{'&' if '?' in server_url else '?'}{query}"
