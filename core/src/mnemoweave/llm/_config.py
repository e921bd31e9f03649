"""``LLMConfig``: which OpenAI-compatible chat endpoint to call, and how patiently.

Also translates mem0's ``{"provider": ..., "config": {...}}`` LLM blocks, so mem0 configs for
OpenAI, Ollama, vLLM and LM Studio work unchanged; keys mnemoweave does not use are rejected by
name instead of being silently ignored.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic import ValidationError as PydanticValidationError

from mnemoweave.errors import ConfigurationError

__all__ = ["LOCAL_API_KEY", "LLMConfig", "ResponseFormatMode", "is_local_url"]

ResponseFormatMode = Literal["auto", "json_schema", "json_object", "none"]

LOCAL_API_KEY = "not-needed"
"""Placeholder key sent to local servers (Ollama, vLLM, llama.cpp, LM Studio ignore it)."""

_LOCAL_PROVIDERS: dict[str, str] = {
    "ollama": "http://localhost:11434/v1",
    "lmstudio": "http://localhost:1234/v1",
    "vllm": "http://localhost:8000/v1",
}
_REMOTE_PROVIDERS = ("openai", "openai_compatible")
_BASE_URL_KEYS = (
    "base_url",
    "openai_base_url",
    "ollama_base_url",
    "vllm_base_url",
    "lmstudio_base_url",
)
_MEM0_COMMON_KEYS = ("model", "api_key", "temperature", "max_tokens")


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def is_local_url(url: str | None) -> bool:
    """True when ``url`` points at this machine (localhost, 127.0.0.0/8, ::1, 0.0.0.0)."""
    if not url:
        return False
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _with_v1(url: str) -> str:
    """Local servers expose the OpenAI API under ``/v1``; add it when the URL has no path."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return urlunsplit(parts._replace(path="/v1"))
    return url


class LLMConfig(BaseModel):
    """Settings of the chat endpoint mnemoweave's ``infer`` pipeline calls.

    ``base_url`` and ``api_key`` default to ``$OPENAI_BASE_URL`` and ``$OPENAI_API_KEY``
    (read when the config is created). A missing key is only an error when the client is
    built for a non-local endpoint; local servers get :data:`LOCAL_API_KEY`.
    ``response_format="auto"`` sends a JSON schema and, if the endpoint rejects it with a
    400 about ``response_format``, falls back to JSON mode and then to none, remembering
    the downgrade for the client's lifetime. Retries (429, 5xx, timeouts, with
    ``Retry-After`` honoured) are the ``openai`` SDK's, bounded by ``max_retries``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(default="gpt-4.1-mini", min_length=1)
    base_url: str | None = Field(default_factory=lambda: _env("OPENAI_BASE_URL"))
    api_key: SecretStr | None = Field(
        default_factory=lambda: SecretStr(key) if (key := _env("OPENAI_API_KEY")) else None
    )
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, gt=0)
    timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=20)
    response_format: ResponseFormatMode = "auto"
    extra_headers: dict[str, str] | None = None
    extra_body: dict[str, Any] | None = None
    #: The model accepts images; image parts in messages are sent to it (else they raise).
    enable_vision: bool = False
    #: The ``detail`` sent with each image part that does not set its own.
    vision_details: Literal["auto", "high", "low"] = "auto"

    @property
    def endpoint(self) -> str:
        """The base URL requests go to (the SDK's default when ``base_url`` is unset)."""
        return self.base_url or "https://api.openai.com/v1"

    def resolved_api_key(self) -> str:
        """The key to send: the configured one, a placeholder for local servers, else an error."""
        if self.api_key is not None and self.api_key.get_secret_value():
            return self.api_key.get_secret_value()
        if is_local_url(self.base_url):
            return LOCAL_API_KEY
        raise ConfigurationError(
            f"no API key for the LLM endpoint {self.endpoint}: set OPENAI_API_KEY (or pass "
            "api_key in the llm config); local servers such as Ollama need no key"
        )

    @classmethod
    def from_any(cls, spec: Any) -> LLMConfig:
        """Build a config from ``None``, a model name, an ``LLMConfig``, or a dict.

        Dicts are either this class's fields (``{"model": "gpt-4.1-mini", "timeout": 30}``)
        or mem0's shape ``{"provider": "openai" | "openai_compatible" | "ollama" | "vllm" |
        "lmstudio", "config": {"model", "api_key", "temperature", "max_tokens",
        "<provider>_base_url" or "base_url", ...}}``; inside ``config`` this class's own
        field names are accepted too. Local providers default to their usual URL and need
        no key (``$OPENAI_API_KEY`` is not sent to them). Problems raise
        :class:`~mnemoweave.errors.ConfigurationError` naming the offending keys.
        """
        if spec is None:
            return cls()
        if isinstance(spec, LLMConfig):
            return spec
        if isinstance(spec, str):
            return _validated({"model": spec})
        if not isinstance(spec, Mapping):
            raise ConfigurationError(
                "llm config must be None, a model name, an LLMConfig or a dict; "
                f"got {type(spec).__name__}"
            )
        if "provider" in spec:
            return _from_mem0(spec)
        return _validated(dict(spec))


def _validated(values: dict[str, Any]) -> LLMConfig:
    """``LLMConfig(**values)`` with pydantic errors turned into a ``ConfigurationError``."""
    try:
        return LLMConfig(**values)
    except PydanticValidationError as exc:
        unknown = sorted(
            str(err["loc"][0]) for err in exc.errors() if err["type"] == "extra_forbidden"
        )
        problems = [
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors()
            if err["type"] != "extra_forbidden"
        ]
        if unknown:
            problems.insert(0, f"unknown key(s) {unknown}")
        allowed = sorted(LLMConfig.model_fields)
        raise ConfigurationError(
            f"invalid llm config: {'; '.join(problems)} (allowed: {allowed})"
        ) from None


def _from_mem0(spec: Mapping[str, Any]) -> LLMConfig:
    provider = spec.get("provider")
    if provider not in _LOCAL_PROVIDERS and provider not in _REMOTE_PROVIDERS:
        known = sorted([*_REMOTE_PROVIDERS, *_LOCAL_PROVIDERS])
        raise ConfigurationError(
            f"llm provider {provider!r} is not supported; mnemoweave calls OpenAI-compatible "
            f"chat endpoints: use one of {known} (openai_compatible with base_url for others)"
        )
    extra_top = sorted(set(spec) - {"provider", "config"})
    if extra_top:
        raise ConfigurationError(f"unknown llm key(s) {extra_top}; expected provider and config")
    options = spec.get("config") or {}
    if not isinstance(options, Mapping):
        raise ConfigurationError("llm 'config' must be a dict of options")
    own = set(LLMConfig.model_fields)
    allowed = own | set(_BASE_URL_KEYS) | set(_MEM0_COMMON_KEYS)
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigurationError(
            f"unknown llm config key(s) {unknown} for provider {provider!r}; "
            f"mnemoweave accepts {sorted(allowed)}"
        )
    values = {k: v for k, v in options.items() if k in own and v is not None}
    urls = {options[k] for k in _BASE_URL_KEYS if options.get(k)}
    if len(urls) > 1:
        raise ConfigurationError(f"conflicting base URLs in llm config: {sorted(urls)}")
    url = urls.pop() if urls else None
    if provider in _LOCAL_PROVIDERS:
        values["base_url"] = _with_v1(url) if url else _LOCAL_PROVIDERS[provider]
        values.setdefault("api_key", LOCAL_API_KEY)
    elif url:
        values["base_url"] = url
    return _validated(values)
