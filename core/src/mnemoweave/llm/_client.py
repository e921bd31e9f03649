"""``LLMClient``: one chat completion against any OpenAI-compatible endpoint, sync or async.

The ``openai`` SDK does the HTTP work, timeouts and bounded retries (429/5xx/timeouts, with
``Retry-After`` honoured); this module adds what mnemoweave needs on top: lazy clients (no
network or key check at construction), JSON-schema / JSON-mode negotiation with endpoints
that support less, usage and timing in a small :class:`LLMReply`, and one error type,
:class:`~mnemoweave.errors.LLMError`, naming the endpoint, the model and the cause.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mnemoweave.errors import LLMAuthenticationError, LLMError, LLMRateLimitError, ValidationError

from ._config import LLMConfig

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI

__all__ = ["LLMClient", "LLMReply", "SentFormat"]

logger = logging.getLogger("mnemoweave.llm")

SentFormat = Literal["json_schema", "json_object", "none"]
_LADDER: tuple[SentFormat, ...] = ("json_schema", "json_object", "none")
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "structured output")


@dataclass(frozen=True)
class LLMReply:
    """One chat completion's outcome.

    ``seconds`` is the wall time of the whole call, retries and format fallbacks included;
    ``attempts`` counts the HTTP requests it took. ``response_format`` is what was sent on
    the successful request. Token counts come from the endpoint's ``usage`` (0 if absent).
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    attempts: int
    model: str
    finish_reason: str | None = None
    response_format: SentFormat = "none"


class LLMClient:
    """Calls the configured chat endpoint; safe to share between threads and event loops.

    ``complete(messages, json_schema=...)`` asks for output matching ``json_schema`` in the
    strongest way the endpoint accepts (see :class:`LLMConfig`'s ``response_format``);
    without ``json_schema`` it is a plain completion. The SDK clients are built on first
    use; the async one is built per event loop, because HTTP connections cannot move
    between loops. Call :meth:`aclose` from a loop (or :meth:`close`) to release them early.
    """

    def __init__(self, config: LLMConfig | Mapping[str, Any] | str | None = None) -> None:
        self.config = LLMConfig.from_any(config)
        self._lock = threading.Lock()
        self._sync: OpenAI | None = None
        self._async: dict[asyncio.AbstractEventLoop, AsyncOpenAI] = {}
        mode = self.config.response_format
        self._format_floor = 0 if mode in ("auto", "json_schema") else _LADDER.index(mode)

    def __repr__(self) -> str:
        return f"LLMClient(model={self.config.model!r}, endpoint={self.config.endpoint!r})"

    @property
    def response_format(self) -> SentFormat:
        """What a schema request sends now (after any ``auto`` downgrades)."""
        return _LADDER[self._format_floor]

    # -- building SDK clients --------------------------------------------------------------

    def _client_options(self) -> dict[str, Any]:
        cfg = self.config
        options: dict[str, Any] = {
            "api_key": cfg.resolved_api_key(),
            "timeout": cfg.timeout,
            "max_retries": cfg.max_retries,
        }
        if cfg.provider == "azure_openai":
            # AzureOpenAI builds /openai/deployments/<name>/... paths, adds ?api-version= and
            # sends the key as an ``api-key`` header.
            options["azure_endpoint"] = cfg.base_url
            options["api_version"] = cfg.api_version
            if cfg.azure_deployment:
                options["azure_deployment"] = cfg.azure_deployment
        elif cfg.base_url:
            options["base_url"] = cfg.base_url
        return options

    def _sdk_class(self, asynchronous: bool) -> Any:
        import openai

        if self.config.provider == "azure_openai":
            return openai.AsyncAzureOpenAI if asynchronous else openai.AzureOpenAI
        return openai.AsyncOpenAI if asynchronous else openai.OpenAI

    def _sync_client(self) -> OpenAI:
        with self._lock:
            if self._sync is None:
                self._sync = self._sdk_class(False)(**self._client_options())
            return self._sync

    def _async_client(self) -> AsyncOpenAI:
        loop = asyncio.get_running_loop()
        with self._lock:
            # Forget clients of finished loops (each asyncio.run() is a new loop); their
            # connections cannot be closed without their loop, so they go to the GC.
            for finished in [old for old in self._async if old.is_closed()]:
                del self._async[finished]
            client = self._async.get(loop)
            if client is None:
                client = self._async[loop] = self._sdk_class(True)(**self._client_options())
            return client

    def close(self) -> None:
        """Close the sync HTTP client (async ones close with :meth:`aclose` or their loop)."""
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the async HTTP client of the running event loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async.pop(loop, None)
        if client is not None:
            await client.close()

    # -- calls -----------------------------------------------------------------------------

    def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        json_schema: Mapping[str, Any] | None = None,
        schema_name: str = "memory_ops",
        strict: bool = True,
        max_tokens: int | None = None,
    ) -> LLMReply:
        """Send ``messages`` and return the reply; raises ``LLMError`` when the call fails.

        ``max_tokens`` caps this reply (else the config's ``max_tokens``, if any).
        """
        payload = _checked_messages(messages)
        client = self._sync_client()
        started = time.perf_counter()
        attempts = 0
        while True:
            sent = self._sent_format(json_schema)
            kwargs = self._request(payload, json_schema, schema_name, strict, sent, max_tokens)
            try:
                raw = client.chat.completions.with_raw_response.create(**kwargs)
                attempts += raw.retries_taken + 1
                return self._reply(raw.parse(), started, attempts, sent)
            except _call_errors() as exc:
                if not self._downgrade(exc, sent):
                    raise self._error(exc) from exc
                attempts += 1  # a 400 is never retried by the SDK: one request

    async def acomplete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        json_schema: Mapping[str, Any] | None = None,
        schema_name: str = "memory_ops",
        strict: bool = True,
        max_tokens: int | None = None,
    ) -> LLMReply:
        """Async twin of :meth:`complete`, with the same arguments and errors."""
        payload = _checked_messages(messages)
        client = self._async_client()
        started = time.perf_counter()
        attempts = 0
        while True:
            sent = self._sent_format(json_schema)
            kwargs = self._request(payload, json_schema, schema_name, strict, sent, max_tokens)
            try:
                raw = await client.chat.completions.with_raw_response.create(**kwargs)
                attempts += raw.retries_taken + 1
                return self._reply(raw.parse(), started, attempts, sent)
            except _call_errors() as exc:
                if not self._downgrade(exc, sent):
                    raise self._error(exc) from exc
                attempts += 1  # a 400 is never retried by the SDK: one request

    # -- helpers shared by both call paths -------------------------------------------------

    def _sent_format(self, json_schema: Mapping[str, Any] | None) -> SentFormat:
        return "none" if json_schema is None else self.response_format

    def _request(
        self,
        messages: list[dict[str, Any]],
        json_schema: Mapping[str, Any] | None,
        schema_name: str,
        strict: bool,
        sent: SentFormat,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        cfg = self.config
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "messages": messages,
            "temperature": cfg.temperature,
        }
        if max_tokens is not None or cfg.max_tokens is not None:
            kwargs["max_tokens"] = max_tokens if max_tokens is not None else cfg.max_tokens
        if sent == "json_schema" and json_schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": dict(json_schema), "strict": strict},
            }
        elif sent == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        if cfg.extra_headers:
            kwargs["extra_headers"] = dict(cfg.extra_headers)
        if cfg.extra_body:
            kwargs["extra_body"] = dict(cfg.extra_body)
        return kwargs

    def _downgrade(self, exc: Exception, sent: SentFormat) -> bool:
        """In ``auto`` mode, step down the format ladder if ``exc`` rejects the one sent."""
        import openai

        if not (
            isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError)
            and sent != "none"
            and self.config.response_format == "auto"
            and _mentions_format(exc)
        ):
            return False
        with self._lock:
            if self._format_floor == _LADDER.index(sent):  # else another call already did
                self._format_floor += 1
                logger.warning(
                    "mnemoweave: %s rejected response_format %s (%s); using %s from now on",
                    self.config.endpoint,
                    sent,
                    _status_text(exc),
                    _LADDER[self._format_floor],
                )
        return True

    def _error(self, exc: Exception) -> LLMError:
        import openai

        cfg = self.config
        where = f"LLM call to {cfg.endpoint} (model {cfg.model!r}) failed"
        if isinstance(exc, openai.APITimeoutError):
            cause = f"timed out after {cfg.timeout:g}s per attempt (max_retries={cfg.max_retries})"
        elif isinstance(exc, openai.APIConnectionError):
            cause = f"could not connect (max_retries={cfg.max_retries}): {exc}"
        elif isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return LLMAuthenticationError(
                f"{where}: {_status_text(exc)}; check {cfg.key_env} / the api_key in the llm "
                "config",
                provider=cfg.provider,
                status=exc.status_code,
            )
        elif isinstance(exc, openai.RateLimitError):
            return LLMRateLimitError(
                f"{where}: {_status_text(exc)} (still rate-limited after "
                f"max_retries={cfg.max_retries})",
                provider=cfg.provider,
                retry_after=_retry_after(exc),
            )
        elif isinstance(exc, openai.APIStatusError):
            cause = _status_text(exc)
        elif isinstance(exc, ValueError | openai.APIResponseValidationError):
            cause = f"the endpoint's response is not a valid chat completion ({exc})"
        else:
            cause = f"{type(exc).__name__}: {exc}"
        return LLMError(f"{where}: {cause}")

    def _reply(self, completion: Any, started: float, attempts: int, sent: SentFormat) -> LLMReply:
        try:
            choice = completion.choices[0]
            content = choice.message.content
            finish_reason = choice.finish_reason
        except (AttributeError, IndexError, KeyError, TypeError) as exc:
            raise ValueError(f"no choices[0].message in {str(completion)[:200]!r}") from exc
        if content is not None and not isinstance(content, str):
            raise ValueError(f"message content is {type(content).__name__}, not text")
        usage = getattr(completion, "usage", None)
        return LLMReply(
            text=content or "",
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            seconds=time.perf_counter() - started,
            attempts=attempts,
            model=str(getattr(completion, "model", None) or self.config.model),
            finish_reason=finish_reason,
            response_format=sent,
        )


def _call_errors() -> tuple[type[Exception], ...]:
    """What a chat call may raise that becomes ``LLMError``: SDK errors and bad bodies."""
    import openai

    return (openai.OpenAIError, ValueError)


def _checked_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Messages as plain dicts; a clear ``ValidationError`` instead of an SDK 400 later."""
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence) or not messages:
        raise ValidationError("messages must be a non-empty list of {'role', 'content'} dicts")
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping) or "role" not in message:
            raise ValidationError(f"messages[{i}] must be a dict with a 'role' (and 'content')")
        out.append(dict(message))
    return out


def _status_text(exc: Any) -> str:
    """``HTTP <status>: <the endpoint's error message>`` for an SDK status error."""
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        message = body["message"]
    else:
        message = getattr(exc, "message", None) or str(exc)
    return f"HTTP {status}: {message}" if status is not None else str(message)


def _retry_after(exc: Any) -> float | None:
    """The ``Retry-After`` seconds of an SDK status error's response, if it has a number."""
    response = getattr(exc, "response", None)
    value = getattr(response, "headers", {}).get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _mentions_format(exc: Any) -> bool:
    """Whether an error response is about ``response_format`` (param or message text)."""
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping) and body.get("param") == "response_format":
        return True
    text = f"{getattr(exc, 'message', '')} {body}".lower()
    return any(word in text for word in _FORMAT_WORDS)
