"""A PostgreSQL server for benchmarks: a given URL, or a private one ``pgserver`` starts.

The server's data directory is a temporary directory removed when the context ends, so a
benchmark leaves nothing behind; each run gets a fresh collection.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def postgres_server(url: str) -> Iterator[str]:
    """``url`` itself, or (for ``"pgserver"``) the URL of a server started for the run."""
    if url != "pgserver":
        yield url
        return
    import pgserver  # in the test requirements (Python < 3.13)

    data = Path(tempfile.mkdtemp(prefix="mw-bench-pg-"))
    server = pgserver.get_server(data, cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(data, ignore_errors=True)


def fresh_collection(url: str, prefix: str = "bench") -> str:
    """``url`` pointing at a new, empty collection."""
    return f"{url}{'&' if '?' in url else '?'}collection={prefix}_{uuid.uuid4().hex[:10]}"
