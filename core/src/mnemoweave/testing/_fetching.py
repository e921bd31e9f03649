"""Letting a test fetch from its own local HTTP server despite the SSRF guard."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mnemoweave._fetch import widened


@contextmanager
def allow_fetch_from(*networks: str) -> Iterator[None]:
    """Inside the block, ``allow_fetch=True`` may also fetch from ``networks`` (CIDR strings).

    Only for tests that serve documents from a local server, e.g.
    ``allow_fetch_from("127.0.0.1/32")``; outside the block the guard refuses them again.
    """
    if not networks:
        raise ValueError("name the networks to allow, e.g. allow_fetch_from('127.0.0.1/32')")
    with widened(*networks):
        yield
