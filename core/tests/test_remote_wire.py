"""The remote client's offline parts: settings, argument encoding, and error decoding.

Everything that talks to a server is tested against a real one in ``server/tests``.
"""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime

import pytest

from mnemoweave import AsyncMemory, Memory, errors
from mnemoweave._remote_wire import error_for, jsonable
from mnemoweave.remote import AsyncMemoryClient, MemoryClient


def _body(type_name: str, message: str, **extra: object) -> str:
    return json.dumps(
        {"detail": message, "error": {"type": type_name, "message": message, **extra}}
    )


def test_errors_come_back_as_the_class_the_server_named() -> None:
    found = error_for(404, _body("NotFoundError", "no memory with id 'x'", memory_id="x"), {})
    assert isinstance(found, errors.NotFoundError)
    assert found.memory_id == "x"
    assert str(found) == "no memory with id 'x'"
    bad = error_for(422, _body("ValidationError", "limit must be an int"), {})
    assert type(bad) is errors.ValidationError
    llm = error_for(502, _body("ExtractionError", "no ops", raw="junk"), {})
    assert isinstance(llm, errors.ExtractionError)
    assert llm.raw == "junk"


def test_errors_without_a_known_type_map_by_status() -> None:
    assert isinstance(error_for(401, "nope", {}), errors.AuthenticationError)
    assert isinstance(error_for(403, "{}", {}), errors.PermissionDeniedError)
    limited = error_for(429, "{}", {"retry-after": "3"})
    assert isinstance(limited, errors.RateLimitError)
    assert limited.retry_after == 3.0
    other = error_for(500, _body("SomethingElse", "boom"), {})
    assert type(other) is errors.RemoteError
    assert other.status == 500


def test_arguments_are_encoded_as_json_or_refused_by_name() -> None:
    when = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert jsonable({"at": when, "tags": ("a", "b")}, "metadata") == {
        "at": "2026-05-01T12:00:00+00:00",
        "tags": ["a", "b"],
    }
    with pytest.raises(errors.ValidationError, match=r"metadata\.x"):
        jsonable({"x": object()}, "metadata")
    with pytest.raises(errors.ValidationError, match="finite"):
        jsonable(float("nan"), "threshold")


def test_a_client_needs_a_server_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MNEMOWEAVE_URL", raising=False)
    monkeypatch.delenv("MEMWEAVE_URL", raising=False)
    with pytest.raises(errors.ConfigurationError, match="MNEMOWEAVE_URL"):
        MemoryClient()
    with pytest.raises(errors.ConfigurationError, match="http"):
        MemoryClient("ftp://example.invalid")
    monkeypatch.setenv("MNEMOWEAVE_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("MNEMOWEAVE_API_KEY", "mw_x_y")
    client = MemoryClient()  # nothing is sent before the first call
    assert (client.host, client.api_key) == ("http://127.0.0.1:9", "mw_x_y")
    with pytest.raises(errors.RemoteError, match="cannot reach"):
        client.get("some-id")
    client.close()


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(getattr(cls, name))
        for name in dir(cls)
        if not name.startswith("_") and callable(getattr(cls, name))
    }


def test_the_client_has_exactly_memorys_methods_and_arguments() -> None:
    ours, theirs = _public(MemoryClient), _public(Memory)
    theirs.pop("from_config")  # a constructor from a mem0 config dict: there is no local store
    assert set(ours) == set(theirs)
    for name, signature in theirs.items():
        public = [p for p in signature.parameters if not p.startswith("_")]
        assert list(ours[name].parameters) == public, name
        for param in (signature.parameters[p] for p in public):
            mine = ours[name].parameters[param.name]
            assert (mine.kind, repr(mine.default)) == (param.kind, repr(param.default)) or (
                name == "update" and param.name == "expiration_date"
            ), (name, param.name)


def test_the_async_client_has_exactly_async_memorys_methods() -> None:
    ours, theirs = set(_public(AsyncMemoryClient)), set(_public(AsyncMemory))
    theirs -= {"from_config"}
    assert ours == theirs
