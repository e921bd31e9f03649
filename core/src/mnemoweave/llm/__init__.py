"""Talking to the LLM: config, a sync/async client for OpenAI-compatible endpoints, parsing.

* :class:`LLMConfig`: model, endpoint, key, timeout, retries, response-format negotiation;
  :meth:`LLMConfig.from_any` also reads mem0's ``{"provider": ..., "config": ...}`` shape.
* :class:`LLMClient`: ``complete`` / ``acomplete`` return an :class:`LLMReply` (text, token
  usage, wall time, attempts) or raise :class:`~mnemoweave.errors.LLMError`.
* :func:`build_llm`: a client for any mem0 provider name (``groq``, ``azure_openai``, ...;
  see ``docs/providers.md``), a LangChain chat model (:class:`LangChainLLM`) or LiteLLM
  (:class:`LiteLLMClient`, the ``litellm`` extra).
* :func:`extract_json`: the JSON value in a reply wrapped in fences, prose or ``<think>``.
* :func:`quote_json`: data as one line of JSON with no hidden or line-breaking characters raw.
* ``mnemoweave.llm.prompts``: the prompts the ``infer`` pipeline sends.
* ``mnemoweave.llm.memory_block``: recalled memories as one quoted, token-budgeted prompt block
  (what adapters, MCP tools and the chat proxy show a model).
"""

from __future__ import annotations

from ._build import build_llm
from ._client import LLMClient, LLMReply
from ._config import LOCAL_API_KEY, LLMConfig, is_local_url
from ._parse import extract_json
from ._providers import PROVIDERS, provider_names
from ._quote import quote_json
from ._wrappers import LangChainLLM, LiteLLMClient

__all__ = [
    "LOCAL_API_KEY",
    "PROVIDERS",
    "LLMClient",
    "LLMConfig",
    "LLMReply",
    "LangChainLLM",
    "LiteLLMClient",
    "build_llm",
    "extract_json",
    "is_local_url",
    "provider_names",
    "quote_json",
]
