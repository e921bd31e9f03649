"""What the scripted server remembers about each request it received."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["RecordedRequest", "Route"]

Route = Literal["chat", "embeddings", "models", "rerank", "unknown"]


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the server saw it, plus how it was answered.

    ``headers`` are lower-cased and never include credentials (``authorization``,
    ``api-key``, ``x-api-key``, ``proxy-authorization``). ``body`` is the parsed JSON body
    (``None`` when it was not JSON). Token counts follow :mod:`mnemoweave.testing`'s rule;
    ``completion_tokens`` is 0 until (and unless) a reply was sent. ``status`` is the HTTP
    status answered, or ``None`` when the connection was hung up or dropped. A handler
    receives the request before it is answered, so there ``status`` is ``None`` too.
    """

    index: int
    method: str
    path: str
    route: Route
    headers: dict[str, str] = field(default_factory=dict)
    #: Names (never values) of the credential headers the request carried, sorted, so a
    #: test can check that Azure got ``api-key`` and the others ``authorization``.
    credential_headers: tuple[str, ...] = ()
    body: Any = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    status: int | None = None
    reply: Any = None
    #: Seconds the server spent on this request, from reading it to finishing the response,
    #: so benchmarks can subtract the server from a client's wall time.
    server_seconds: float = 0.0

    @property
    def model(self) -> str | None:
        """The ``model`` the client asked for, if any."""
        value = self.body.get("model") if isinstance(self.body, dict) else None
        return value if isinstance(value, str) else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat ``messages`` sent (empty for other routes)."""
        value = self.body.get("messages") if isinstance(self.body, dict) else None
        return list(value) if isinstance(value, list) else []

    @property
    def response_format(self) -> dict[str, Any] | None:
        """The ``response_format`` object sent, if any."""
        value = self.body.get("response_format") if isinstance(self.body, dict) else None
        return value if isinstance(value, dict) else None

    @property
    def response_format_type(self) -> str | None:
        """``"json_object"``, ``"json_schema"``, ``"text"``, or ``None`` when not sent."""
        fmt = self.response_format
        return fmt.get("type") if fmt is not None else None

    @property
    def wants_json(self) -> bool:
        """True when the request asked for JSON mode or a JSON schema."""
        return self.response_format_type in ("json_object", "json_schema")

    @property
    def json_schema(self) -> dict[str, Any] | None:
        """The ``json_schema`` object (``name``, ``schema``, ``strict``) when one was requested."""
        fmt = self.response_format
        if fmt is None or fmt.get("type") != "json_schema":
            return None
        value = fmt.get("json_schema")
        return value if isinstance(value, dict) else None

    @property
    def inputs(self) -> list[Any]:
        """The embeddings ``input`` as a list (one string or id list per item)."""
        value = self.body.get("input") if isinstance(self.body, dict) else None
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and value and all(isinstance(x, int) for x in value):
            return [value]
        return list(value) if isinstance(value, list) else [value]

    @property
    def retry_count(self) -> int | None:
        """The openai SDK's ``x-stainless-retry-count`` header: 0 on a first attempt."""
        value = self.headers.get("x-stainless-retry-count")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    @property
    def text(self) -> str | None:
        """The reply content sent back for a successful chat request."""
        return self.reply if isinstance(self.reply, str) else None
