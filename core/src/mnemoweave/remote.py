"""Clients of a mnemoweave memory server with exactly ``Memory``'s API and result types.

``MemoryClient("http://127.0.0.1:8420", api_key=...)`` can stand wherever a ``Memory`` does
(adapters take either); ``AsyncMemoryClient`` is the twin of ``AsyncMemory``. Errors the
server reports come back as the same ``mnemoweave.errors`` classes a local store raises;
authentication, permission and rate-limit refusals as :class:`~mnemoweave.errors.RemoteError`
subclasses. Nothing is sent until the first call. ``host`` and ``api_key`` default to
``$MNEMOWEAVE_URL`` and ``$MNEMOWEAVE_API_KEY``.
"""

from __future__ import annotations

from ._remote_async import AsyncMemoryClient
from ._remote_sync import MemoryClient, RemoteEmbedder
from ._remote_wire import RemoteLLM

__all__ = ["AsyncMemoryClient", "MemoryClient", "RemoteEmbedder", "RemoteLLM"]
