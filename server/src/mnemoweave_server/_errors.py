"""Errors as HTTP answers: each ``mnemoweave.errors`` class has one status and a JSON body.

The body is ``{"detail": message, "error": {"type": class name, "message": ..., ...}}``:
``detail`` is what mem0's client shows, ``error.type`` is what ``mnemoweave.remote`` turns
back into the same exception. Bad input is never a 500: malformed JSON and schema
violations are ``ValidationError``s (422); an unexpected bug is a 500 that names no data.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mnemoweave import errors

logger = logging.getLogger("mnemoweave.server")

#: Most specific first: the first class an error is an instance of decides its status.
STATUS: tuple[tuple[type[errors.MnemoweaveError], int], ...] = (
    (errors.ValidationError, 422),
    (errors.NotFoundError, 404),
    (errors.ConfigurationError, 400),
    (errors.AuthenticationError, 401),
    (errors.PermissionDeniedError, 403),
    (errors.RateLimitError, 429),
    (errors.RemoteError, 502),
    (errors.StorageError, 503),
    (errors.EmbeddingError, 502),
    (errors.LLMError, 502),
)

_HTTP_TYPES = {
    400: "ValidationError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    405: "ValidationError",
    413: "ValidationError",
    415: "ValidationError",
    422: "ValidationError",
    429: "RateLimitError",
}


class PayloadTooLarge(errors.ValidationError):
    """The request body (or a text in it) is larger than this server accepts."""


def status_of(exc: errors.MnemoweaveError) -> int:
    if isinstance(exc, PayloadTooLarge):
        return 413
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_body(type_name: str, message: str, **extra: Any) -> dict[str, Any]:
    detail = {"type": type_name, "message": message}
    detail.update({k: v for k, v in extra.items() if v is not None})
    return {"detail": message, "error": detail}


def error_response(
    status: int, type_name: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        error_body(type_name, message, **extra), status_code=status, headers=headers
    )


def _extra(exc: errors.MnemoweaveError) -> dict[str, Any]:
    if isinstance(exc, errors.NotFoundError | errors.ImmutableMemoryError):
        return {"memory_id": exc.memory_id}
    if isinstance(exc, errors.DimensionMismatchError):
        return {"expected": exc.expected, "got": exc.got}
    if isinstance(exc, errors.ExtractionError):
        return {"raw": exc.raw if isinstance(exc.raw, str) else None}
    return {}


async def mnemoweave_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.MnemoweaveError)
    status = status_of(exc)
    headers = None
    if isinstance(exc, errors.RateLimitError) and exc.retry_after is not None:
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
    if status >= 500:
        logger.warning("mnemoweave-server: %s on %s: %s", type(exc).__name__, request.url.path, exc)
    name = "ValidationError" if isinstance(exc, PayloadTooLarge) else type(exc).__name__
    return error_response(status, name, str(exc), headers, **_extra(exc))


def _describe(err: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
    return f"{where}: {err.get('msg', 'invalid')}"


async def _request_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_describe(dict(e)) for e in exc.errors()][:10]
    return error_response(422, "ValidationError", "invalid request: " + "; ".join(problems))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    name = _HTTP_TYPES.get(status, "RemoteError")
    return error_response(status, name, str(exc.detail), dict(exc.headers or {}) or None)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("mnemoweave-server: unexpected error on %s", request.url.path)
    return error_response(500, "RemoteError", "internal server error (logged on the server)")


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the JSON body above."""
    app.add_exception_handler(errors.MnemoweaveError, mnemoweave_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
