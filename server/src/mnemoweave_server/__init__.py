"""mnemoweave-server: mnemoweave's memory as a service.

``create_app(settings)`` is the FastAPI app (REST API under ``/api/v1``, the routes mem0's
``MemoryClient`` calls, ``/health``, ``/ready``, ``/metrics``); ``serve(...)`` runs it under
uvicorn. ``create_key`` / ``list_keys`` / ``revoke_key`` manage the API keys the server
checks. Routers added to the app get the request's store with ``Depends(get_memory)`` and its
key with ``Depends(authenticate)`` (a :class:`Principal`, whose ``scope`` and ``owned`` keep
the key inside its users). The memory tools are served over MCP at ``/mcp`` and by
``run_mcp_stdio`` (``mnemoweave-server mcp``); ``/v1/chat/completions`` is an
OpenAI-compatible chat proxy that recalls before and remembers after.
"""

from __future__ import annotations

from ._app import create_app
from ._context import Principal, ServerContext, authenticate, context_of, get_memory
from ._keys import ApiKey, KeyStore, NewKey, create_key, list_keys, revoke_key
from ._mcp_stdio import mcp_server, run_mcp_stdio, run_mcp_stdio_async
from ._serve import serve
from ._settings import ServerSettings
from ._version import __version__
from ._webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

__all__ = [
    "ApiKey",
    "KeyStore",
    "NewKey",
    "Principal",
    "SIGNATURE_HEADER",
    "ServerContext",
    "ServerSettings",
    "TIMESTAMP_HEADER",
    "__version__",
    "authenticate",
    "context_of",
    "create_app",
    "create_key",
    "get_memory",
    "list_keys",
    "mcp_server",
    "revoke_key",
    "run_mcp_stdio",
    "run_mcp_stdio_async",
    "serve",
    "verify_signature",
]
