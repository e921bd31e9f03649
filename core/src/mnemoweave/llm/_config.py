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

from ._providers import PROVIDERS, provider_names

__all__ = ["LOCAL_API_KEY", "LLMConfig", "ResponseFormatMode", "is_local_url"]

ResponseFormatMode = Literal["auto", "json_schema", "json_object", "none"]

LOCAL_API_KEY = "not-needed"
"""Placeholder key sent to local servers (Ollama, vLLM, llama.cpp, LM Studio ignore it)."""

_MEM0_COMMON_KEYS = ("model", "api_key", "temperature", "max_tokens", "top_p", "top_k")
_AZURE_KEYS = ("azure_deployment", "azure_endpoint", "api_key", "api_version", "default_headers")
_BEDROCK_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_region", "aws_session_token")


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
    #: mem0's provider name (``openai``, ``groq``, ``azure_openai``, ...): picks the client.
    provider: str = "openai"
    #: Azure OpenAI only: the deployment name and the ``api-version`` query parameter.
    azure_deployment: str | None = None
    api_version: str | None = None
    #: LiteLLM only: extra keyword arguments for ``litellm.completion`` (AWS region, keys).
    litellm_params: dict[str, Any] | None = None
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
            f"no API key for the LLM endpoint {self.endpoint}: set {self.key_env} (or pass "
            "api_key in the llm config); local servers such as Ollama need no key"
        )

    @property
    def key_env(self) -> str:
        """The environment variable this provider's key is read from (for error messages)."""
        if self.provider == "azure_openai":
            return "AZURE_OPENAI_API_KEY"
        known = PROVIDERS.get(self.provider)
        return known.key_env[0] if known and known.key_env else "OPENAI_API_KEY"

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
    if provider not in provider_names() or provider == "langchain":
        raise ConfigurationError(
            f"llm provider {provider!r} is not supported; use one of {provider_names()} "
            "(openai_compatible with base_url for any other OpenAI-compatible endpoint)"
        )
    extra_top = sorted(set(spec) - {"provider", "config"})
    if extra_top:
        raise ConfigurationError(f"unknown llm key(s) {extra_top}; expected provider and config")
    options = spec.get("config") or {}
    if not isinstance(options, Mapping):
        raise ConfigurationError("llm 'config' must be a dict of options")
    own = set(LLMConfig.model_fields)
    allowed = own | set(_MEM0_COMMON_KEYS) | _provider_keys(provider)
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigurationError(
            f"unknown llm config key(s) {unknown} for provider {provider!r}; "
            f"mnemoweave accepts {sorted(allowed)}"
        )
    values: dict[str, Any] = {k: v for k, v in options.items() if k in own and v is not None}
    values["provider"] = provider
    body = dict(values.get("extra_body") or {})
    body.update({k: options[k] for k in ("top_p", "top_k") if options.get(k) is not None})
    if body:
        values["extra_body"] = body
    if provider == "azure_openai":
        _azure(options, values)
    elif provider in ("litellm", "aws_bedrock"):
        _litellm(provider, options, values)
    else:
        _compatible(provider, options, values)
    return _validated(values)


def _provider_keys(provider: str) -> set[str]:
    """mem0 option names a provider accepts beyond the common ones."""
    if provider == "azure_openai":
        return {"azure_kwargs"}
    if provider == "aws_bedrock":
        return {*_BEDROCK_KEYS, "api_base"}
    if provider == "litellm":
        return {"api_base"}
    keys = {"base_url"} | ({"site_url", "app_name"} if provider == "openrouter" else set())
    known = PROVIDERS[provider]
    return keys | ({known.url_key} if known.url_key else set())


def _first_env(names: tuple[str, ...]) -> str | None:
    return next((value for name in names if (value := _env(name))), None)


def _compatible(provider: str, options: Mapping[str, Any], values: dict[str, Any]) -> None:
    """An OpenAI-compatible vendor: its URL, its own key variable, never another's key."""
    known = PROVIDERS[provider]
    urls = {options[k] for k in ("base_url", known.url_key) if k and options.get(k)}
    if len(urls) > 1:
        raise ConfigurationError(f"conflicting base URLs in llm config: {sorted(urls)}")
    url = urls.pop() if urls else None
    if provider in ("openai", "openai_compatible"):
        if url:
            values["base_url"] = url
    else:
        values["base_url"] = (_with_v1(url) if known.local else url) if url else known.base_url
        if "api_key" not in values:
            values["api_key"] = LOCAL_API_KEY if known.local else _first_env(known.key_env)
    if provider == "openrouter":
        headers = dict(values.get("extra_headers") or {})
        if options.get("site_url"):
            headers["HTTP-Referer"] = str(options["site_url"])
        if options.get("app_name"):
            headers["X-Title"] = str(options["app_name"])
        values["extra_headers"] = headers or None


def _azure(options: Mapping[str, Any], values: dict[str, Any]) -> None:
    """mem0's ``azure_kwargs`` (or the flat fields), falling back to the usual env vars."""
    azure = options.get("azure_kwargs") or {}
    if not isinstance(azure, Mapping):
        raise ConfigurationError("llm config azure_kwargs must be a dict")
    unknown = sorted(set(azure) - set(_AZURE_KEYS))
    if unknown:
        raise ConfigurationError(
            f"unknown azure_kwargs key(s) {unknown}; accepted: {sorted(_AZURE_KEYS)}"
        )
    values["azure_deployment"] = (
        azure.get("azure_deployment")
        or values.get("azure_deployment")
        or _first_env(("LLM_AZURE_DEPLOYMENT", "AZURE_OPENAI_DEPLOYMENT"))
    )
    values["base_url"] = (
        azure.get("azure_endpoint")
        or options.get("base_url")
        or _first_env(("LLM_AZURE_ENDPOINT", "AZURE_OPENAI_ENDPOINT"))
    )
    values["api_version"] = (
        azure.get("api_version")
        or values.get("api_version")
        or _first_env(("LLM_AZURE_API_VERSION", "OPENAI_API_VERSION"))
    )
    values["api_key"] = (
        azure.get("api_key")
        or options.get("api_key")
        or _first_env(("LLM_AZURE_OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"))
    )
    if azure.get("default_headers"):
        values["extra_headers"] = {
            **(values.get("extra_headers") or {}),
            **azure["default_headers"],
        }
    missing = [k for k in ("base_url", "api_version") if not values.get(k)]
    if missing:
        raise ConfigurationError(
            "azure_openai needs azure_kwargs.azure_endpoint and azure_kwargs.api_version "
            "(or $AZURE_OPENAI_ENDPOINT / $OPENAI_API_VERSION)"
        )


def _litellm(provider: str, options: Mapping[str, Any], values: dict[str, Any]) -> None:
    """LiteLLM routes by model prefix; ``aws_bedrock`` is LiteLLM's ``bedrock/`` route."""
    params = dict(values.get("litellm_params") or {})
    if provider == "aws_bedrock":
        model = str(values.get("model", ""))
        if not model or model == LLMConfig.model_fields["model"].default:
            raise ConfigurationError("aws_bedrock needs config.model (a Bedrock model id)")
        if not model.startswith("bedrock/"):
            values["model"] = f"bedrock/{model}"
        renames = {"aws_region": "aws_region_name"}
        for key in _BEDROCK_KEYS:
            if options.get(key):
                params[renames.get(key, key)] = options[key]
    if options.get("api_base") or options.get("base_url"):
        values["base_url"] = options.get("api_base") or options.get("base_url")
    elif "base_url" not in values:
        values["base_url"] = None
    if "api_key" not in values:
        values["api_key"] = None  # LiteLLM reads each vendor's own variable itself
    values["litellm_params"] = params or None
