"""Test doubles mnemoweave ships for its own tests and for yours.

* :class:`ScriptedOpenAIServer`: a real OpenAI-compatible HTTP server on 127.0.0.1 that
  answers chat completions from a script (replies, :class:`Fault` values, or a handler),
  embeddings with deterministic vectors, and records every request with token counts;
  :func:`operations` builds a reply in mnemoweave's extraction schema.
* :func:`count_tokens` / :func:`count_prompt_tokens`: the one token-count approximation
  used by the server's ``usage`` fields and by mnemoweave's benchmarks.
* :class:`HashEmbedder`: a deterministic, model-free embedder.
* :class:`WriteGate`: holds background adds back until a read waits for them (tests of
  read-your-writes without timing).
* :class:`NetworkGuard`: refuses and records every non-loopback connection (``python -m
  mnemoweave.testing.no_network SCRIPT`` runs a script under it).
* :func:`allow_fetch_from`: lets ``allow_fetch=True`` reach a test's own local HTTP server
  (the SSRF guard refuses loopback and private addresses everywhere else).
* ``mnemoweave.testing.pytest_plugin``: a ``scripted_openai_server`` fixture.
* :func:`shared_postgres_url` / :func:`postgres_store_url`: one PostgreSQL server per pytest
  session (``$MNEMOWEAVE_TEST_POSTGRES_URL`` or a private ``pgserver``) and a fresh
  collection on it for each store.
* :class:`BackendContractTests`: the pytest contract suite every storage backend runs
  (imported on first use, so ``import mnemoweave.testing`` needs neither pytest nor
  hypothesis).

See ``docs/testing.md`` for recipes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mnemoweave.embed import HashEmbedder

from ._faults import Fault
from ._fetching import allow_fetch_from
from ._gate import WriteGate
from ._network import NetworkGuard
from ._postgres import postgres_store_url, shared_postgres_url
from ._records import RecordedRequest
from ._replies import ChatReply, Reply, fenced, operations, prose_wrapped, with_think
from ._server import ChatHandler, EmbeddingHandler, ScriptedOpenAIServer
from ._tokens import count_prompt_tokens, count_tokens

if TYPE_CHECKING:
    from ._contract import BackendContractTests

__all__ = [
    "BackendContractTests",
    "ChatHandler",
    "ChatReply",
    "EmbeddingHandler",
    "Fault",
    "HashEmbedder",
    "NetworkGuard",
    "RecordedRequest",
    "Reply",
    "ScriptedOpenAIServer",
    "WriteGate",
    "allow_fetch_from",
    "count_prompt_tokens",
    "count_tokens",
    "fenced",
    "operations",
    "postgres_store_url",
    "prose_wrapped",
    "shared_postgres_url",
    "with_think",
]


def __getattr__(name: str) -> Any:
    """Import :class:`BackendContractTests` (and with it pytest) only when asked for."""
    if name == "BackendContractTests":
        from ._contract import BackendContractTests

        return BackendContractTests
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
