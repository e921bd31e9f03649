"""``build_llm``: from whatever a config says (a dict, a name, an object) to a chat client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnemoweave.errors import ConfigurationError

from ._client import LLMClient
from ._config import LLMConfig
from ._wrappers import LangChainLLM, LiteLLMClient

__all__ = ["build_llm"]


def build_llm(spec: Any) -> Any:
    """A client with ``complete`` / ``acomplete`` for an llm config, or ``None`` for none.

    Accepts a ready client object, a LangChain chat model, ``{"provider": "langchain",
    "config": {"model": <chat model>}}``, and everything :meth:`LLMConfig.from_any` reads;
    ``litellm`` and ``aws_bedrock`` go through LiteLLM, the rest through :class:`LLMClient`.
    """
    if spec is None:
        return None
    if hasattr(spec, "complete") and hasattr(spec, "acomplete"):
        return spec
    if isinstance(spec, Mapping) and spec.get("provider") == "langchain":
        extra = sorted(set(spec.get("config") or {}) - {"model"})
        if extra or set(spec) - {"provider", "config"}:
            raise ConfigurationError(
                f"llm provider 'langchain' takes only config.model (a chat model); got {extra}"
            )
        return LangChainLLM((spec.get("config") or {}).get("model"))
    if hasattr(spec, "invoke") and hasattr(spec, "ainvoke") and hasattr(spec, "bind"):
        return LangChainLLM(spec)
    config = LLMConfig.from_any(spec)
    if config.provider in ("litellm", "aws_bedrock"):
        return LiteLLMClient(config)
    return LLMClient(config)
