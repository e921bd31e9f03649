"""Request bodies of the REST API (they give the OpenAPI spec its shapes).

Types are strict (``"5"`` is not an int, ``1`` not a bool) and unknown keys are refused, so a
request means exactly what the same ``Memory`` call would; the values are then checked by
core, which names the argument in its ``ValidationError``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

Time = StrictStr | StrictInt | float
"""An ISO-8601 date/datetime string or epoch seconds."""


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def options(self, *skip: str) -> dict[str, Any]:
        """The fields the caller set, as ``Memory`` keyword arguments."""
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if k not in skip}


class Message(BaseModel):
    """One chat message; ``content`` may also be OpenAI multi-part content."""

    model_config = ConfigDict(extra="allow")

    role: StrictStr = "user"
    content: StrictStr | list[Any] | dict[str, Any]  # mem0 also sends one part as a dict
    name: StrictStr | None = None


Messages = StrictStr | Message | list[StrictStr | Message]


def plain_messages(messages: Any) -> Any:
    """Messages back as the strings/dicts ``Memory`` takes."""
    if isinstance(messages, Message):
        return messages.model_dump(exclude_none=True)
    if isinstance(messages, list):
        return [plain_messages(m) for m in messages]
    return messages


class Scoped(Body):
    user_id: StrictStr | None = None
    agent_id: StrictStr | None = None
    run_id: StrictStr | None = None


class AddBody(Scoped):
    messages: Messages
    metadata: dict[str, Any] | None = None
    infer: StrictBool | None = None
    timestamp: Time | None = None
    expiration_date: Time | None = None
    immutable: StrictBool = False
    memory_type: StrictStr | None = None
    prompt: StrictStr | None = None
    categories: list[StrictStr] | None = None
    includes: StrictStr | None = None
    excludes: StrictStr | None = None
    window: StrictBool = True


class SearchBody(Scoped):
    query: StrictStr
    limit: StrictInt = 10
    filters: dict[str, Any] | None = None
    threshold: float | None = None
    explain: StrictBool = False
    include_expired: StrictBool = False
    as_of: Time | None = None
    keyword_weight: float | None = None
    top_k: StrictInt | None = None
    show_expired: StrictBool | None = None
    #: Reorder the first stage's best candidates with the server's configured reranker.
    rerank: StrictBool = False


class ListBody(Scoped):
    filters: dict[str, Any] | None = None
    limit: StrictInt = 100
    offset: StrictInt = 0
    include_expired: StrictBool = False
    top_k: StrictInt | None = None
    show_expired: StrictBool | None = None
    page: StrictInt | None = None
    page_size: StrictInt | None = None


class CountBody(Scoped):
    include_expired: StrictBool = False


class UpdateBody(Body):
    """Fields left out keep their value; ``expiration_date: null`` removes the expiration."""

    data: StrictStr | None = None
    text: StrictStr | None = None
    metadata: dict[str, Any] | None = None
    expiration_date: Time | None = None
    categories: list[StrictStr] | None = None
    force: StrictBool = False


class FeedbackBody(Body):
    feedback: StrictStr | None = None
    feedback_reason: StrictStr | None = None


class BatchAddBody(Body):
    records: list[dict[str, Any]]


class BatchUpdateBody(Body):
    updates: list[dict[str, Any]]


class BatchDeleteBody(Body):
    memory_ids: list[StrictStr | dict[str, Any]]
    source: StrictBool = False


class MessagesListBody(Scoped):
    limit: StrictInt | None = None


class MessagesAppendBody(Scoped):
    messages: Messages


class EmbedBody(Body):
    texts: list[StrictStr] = Field(max_length=1000)


class WebhookBody(Body):
    url: StrictStr
    events: list[Literal["ADD", "UPDATE", "DELETE"]] | None = None
