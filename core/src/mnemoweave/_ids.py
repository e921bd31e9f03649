"""Identifiers and hashes every layer shares: memory ids, text hashes, scope keys."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np


def new_ids(n: int) -> list[str]:
    """``n`` random uuid4 strings, made in one batch (bulk inserts create many at once)."""
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.tobytes().hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-"
        f"{h[i + 20 : i + 32]}"
        for i in range(0, 32 * n, 32)
    ]


def text_hash(text: str) -> str:
    """The content hash (md5, as mem0 uses) that spots identical memories in a scope."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def scope_key(user_id: str | None, agent_id: str | None, run_id: str | None) -> str:
    """Canonical text key of an exact scope (message windows, leases)."""
    return json.dumps([user_id, agent_id, run_id], separators=(",", ":"))
