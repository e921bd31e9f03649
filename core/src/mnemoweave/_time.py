"""Time handling: mnemoweave stores UTC epoch seconds and hands out timezone-aware datetimes."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any

from .errors import ValidationError


def now() -> float:
    """Current time as UTC epoch seconds."""
    return time.time()


def to_epoch(value: Any, *, name: str = "timestamp") -> float:
    """Convert a datetime, date, ISO-8601 string or epoch number to UTC epoch seconds.

    Naive datetimes and date-only strings are read as UTC, so the same input means the same
    instant on every machine.
    """
    if isinstance(value, bool):
        raise ValidationError(
            f"{name} must be a datetime, ISO-8601 string or epoch number, not bool"
        )
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationError(f"{name} must be a finite number")
        return float(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                f"{name}={value!r} is not an ISO-8601 date or datetime, e.g. '2026-05-01T12:00:00Z'"
            ) from None
        return to_epoch(parsed, name=name)
    raise ValidationError(
        f"{name} must be a datetime, date, ISO-8601 string or epoch number, "
        f"not {type(value).__name__}"
    )


def optional_epoch(value: Any, *, name: str) -> float | None:
    """Like :func:`to_epoch` but passes ``None`` through."""
    return None if value is None else to_epoch(value, name=name)


def to_datetime(epoch: float | None) -> datetime | None:
    """UTC-aware datetime for stored epoch seconds (``None`` stays ``None``)."""
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


def iso(epoch: float) -> str:
    """ISO-8601 UTC string for prompts and logs, to the second."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
