"""Chat clients for the two providers that are not an OpenAI-compatible URL.

``LangChainLLM`` wraps any LangChain chat model object, ``LiteLLMClient`` calls
``litellm.completion`` (Bedrock, Vertex and the other routes LiteLLM knows). Both answer
``complete`` / ``acomplete`` with the same :class:`~mnemoweave.llm.LLMReply` and raise the
same :class:`~mnemoweave.errors.LLMError` family as :class:`~mnemoweave.llm.LLMClient`, so
the ``infer`` pipeline cannot tell them apart.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from mnemoweave.errors import (
    ConfigurationError,
    LLMAuthenticationError,
    LLMError,
    LLMRateLimitError,
)

from ._client import LLMReply, _checked_messages
from ._config import LLMConfig

__all__ = ["LangChainLLM", "LiteLLMClient"]


def _text(content: Any) -> str:
    """A chat message's content as text (LangChain may give a list of content blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b if isinstance(b, str) else b.get("text", "") for b in content]
        return "".join(p for p in parts if isinstance(p, str))
    return "" if content is None else str(content)


class LangChainLLM:
    """Any LangChain ``BaseChatModel`` as mnemoweave's LLM (mem0's ``langchain`` provider).

    The model object keeps its own retries and settings; JSON is not forced (chat models
    differ in how they take it), the pipeline's tolerant parser and repair retry cover that.
    Token usage is read from the reply's ``usage_metadata`` when the model reports it.
    """

    def __init__(self, model: Any) -> None:
        if not (hasattr(model, "invoke") and hasattr(model, "ainvoke")):
            raise ConfigurationError(
                "llm provider 'langchain' needs config.model to be a LangChain chat model "
                f"object (with invoke/ainvoke), got {type(model).__name__}"
            )
        self.model = model
        self.config = LLMConfig(provider="langchain", model=_model_name(model), api_key=None)

    def __repr__(self) -> str:
        return f"LangChainLLM({type(self.model).__name__})"

    def complete(self, messages: Sequence[Mapping[str, Any]], **_: Any) -> LLMReply:
        """Invoke the chat model with ``messages``; failures become ``LLMError``."""
        payload = _checked_messages(messages)
        started = time.perf_counter()
        try:
            reply = self.model.invoke(payload)
        except Exception as exc:
            raise LLMError(f"LangChain chat model {self.config.model!r} failed: {exc}") from exc
        return self._reply(reply, started)

    async def acomplete(self, messages: Sequence[Mapping[str, Any]], **_: Any) -> LLMReply:
        """Async twin of :meth:`complete` (``ainvoke``)."""
        payload = _checked_messages(messages)
        started = time.perf_counter()
        try:
            reply = await self.model.ainvoke(payload)
        except Exception as exc:
            raise LLMError(f"LangChain chat model {self.config.model!r} failed: {exc}") from exc
        return self._reply(reply, started)

    def _reply(self, message: Any, started: float) -> LLMReply:
        usage = getattr(message, "usage_metadata", None) or {}
        meta = getattr(message, "response_metadata", None) or {}
        return LLMReply(
            text=_text(getattr(message, "content", message)),
            prompt_tokens=int(usage.get("input_tokens", 0) or 0),
            completion_tokens=int(usage.get("output_tokens", 0) or 0),
            seconds=time.perf_counter() - started,
            attempts=1,
            model=self.config.model,
            finish_reason=meta.get("finish_reason") if isinstance(meta, Mapping) else None,
        )


def _model_name(model: Any) -> str:
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


class LiteLLMClient:
    """Calls ``litellm.completion`` (the optional ``litellm`` extra) with mnemoweave's config.

    ``model`` carries LiteLLM's route prefix (``bedrock/...``, ``vertex_ai/...``); keys come
    from the config or from each vendor's own env vars, as LiteLLM reads them. Retries are
    LiteLLM's ``num_retries`` (``max_retries``); a schema request asks for JSON mode and lets
    LiteLLM drop it where the route cannot do it.
    """

    def __init__(self, config: LLMConfig) -> None:
        # LiteLLM fetches a model price list over the network at import unless told not to.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        try:
            import litellm  # noqa: F401
        except ImportError as exc:
            raise ConfigurationError(
                f"llm provider {config.provider!r} needs LiteLLM: pip install 'mnemoweave[litellm]'"
            ) from exc
        self.config = config

    def __repr__(self) -> str:
        return f"LiteLLMClient(model={self.config.model!r})"

    def _kwargs(self, messages: list[dict[str, Any]], json_schema: Any) -> dict[str, Any]:
        cfg = self.config
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "messages": messages,
            "temperature": cfg.temperature,
            "timeout": cfg.timeout,
            "num_retries": cfg.max_retries,
            "drop_params": True,
            **(cfg.litellm_params or {}),
        }
        if cfg.max_tokens is not None:
            kwargs["max_tokens"] = cfg.max_tokens
        if cfg.base_url:
            kwargs["api_base"] = cfg.base_url
        if cfg.api_key is not None and cfg.api_key.get_secret_value():
            kwargs["api_key"] = cfg.api_key.get_secret_value()
        if json_schema is not None and cfg.response_format != "none":
            kwargs["response_format"] = {"type": "json_object"}
        if cfg.extra_headers:
            kwargs["extra_headers"] = dict(cfg.extra_headers)
        if cfg.extra_body:
            kwargs.update(cfg.extra_body)
        return kwargs

    def complete(
        self, messages: Sequence[Mapping[str, Any]], *, json_schema: Any = None, **_: Any
    ) -> LLMReply:
        """One completion through LiteLLM; its errors become the ``LLMError`` family."""
        import litellm

        started = time.perf_counter()
        kwargs = self._kwargs(_checked_messages(messages), json_schema)
        try:
            response = litellm.completion(**kwargs)
        except Exception as exc:
            raise self._error(exc) from exc
        return self._reply(response, started, "response_format" in kwargs)

    async def acomplete(
        self, messages: Sequence[Mapping[str, Any]], *, json_schema: Any = None, **_: Any
    ) -> LLMReply:
        """Async twin of :meth:`complete` (``litellm.acompletion``)."""
        import litellm

        started = time.perf_counter()
        kwargs = self._kwargs(_checked_messages(messages), json_schema)
        try:
            response = await litellm.acompletion(**kwargs)
        except Exception as exc:
            raise self._error(exc) from exc
        return self._reply(response, started, "response_format" in kwargs)

    def _error(self, exc: Exception) -> LLMError:
        import litellm

        where = f"LiteLLM call (model {self.config.model!r}) failed: {exc}"
        if isinstance(exc, litellm.AuthenticationError | litellm.PermissionDeniedError):
            return LLMAuthenticationError(
                where, provider=self.config.provider, status=getattr(exc, "status_code", None)
            )
        if isinstance(exc, litellm.RateLimitError):
            return LLMRateLimitError(where, provider=self.config.provider)
        return LLMError(where)

    def _reply(self, response: Any, started: float, json_mode: bool) -> LLMReply:
        try:
            choice = response.choices[0]
            text = _text(choice.message.content)
        except (AttributeError, IndexError, TypeError) as exc:
            raise LLMError(f"LiteLLM returned no choices[0].message: {exc}") from exc
        usage = getattr(response, "usage", None)
        return LLMReply(
            text=text,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            seconds=time.perf_counter() - started,
            attempts=1,
            model=str(getattr(response, "model", None) or self.config.model),
            finish_reason=getattr(choice, "finish_reason", None),
            response_format="json_object" if json_mode else "none",
        )
