"""Time handling: mnemoweave stores UTC epoch seconds and hands out timezone-aware datetimes.

Every instant must lie in years 1-9999 UTC (what ``datetime`` can represent), so whatever is
stored can be read back. Inputs outside that range are a :class:`ValidationError`; rows that
older versions stored outside it read as the nearest representable instant (see
:func:`to_datetime`).
"""

from __future__ import annotations

import math
import numbers
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ._values import short_repr
from .errors import ValidationError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The earliest accepted instant, 0001-01-01T00:00:00Z, in epoch seconds.
MIN_EPOCH = -62_135_596_800.0
#: The first instant past the accepted range, 10000-01-01T00:00:00Z, in epoch seconds.
END_EPOCH = 253_402_300_800.0
_RANGE = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"


def now() -> float:
    """Current time as UTC epoch seconds."""
    return time.time()


def to_epoch(value: Any, *, name: str = "timestamp") -> float:
    """Convert a datetime, date, ISO-8601 string or epoch number to UTC epoch seconds.

    Naive datetimes and date-only strings are read as UTC, so the same input means the same
    instant on every machine. The result is always inside :data:`MIN_EPOCH`..:data:`END_EPOCH`.
    """
    if isinstance(value, bool):
        raise ValidationError(
            f"{name} must be a datetime, ISO-8601 string or epoch number, not bool"
        )
    if isinstance(value, numbers.Real):
        return _in_range(value, name)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        try:
            seconds = (value - _EPOCH).total_seconds()
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise ValidationError(f"{name}={value!r} is not a usable instant: {exc}") from None
        return _in_range(seconds, name, shown=value.isoformat())
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
                f"{name}={value[:80]!r} is not an ISO-8601 date or datetime, "
                "e.g. '2026-05-01T12:00:00Z'"
            ) from None
        return to_epoch(parsed, name=name)
    raise ValidationError(
        f"{name} must be a datetime, date, ISO-8601 string or epoch number, "
        f"not {type(value).__name__}"
    )


def _in_range(value: Any, name: str, *, shown: str | None = None) -> float:
    """``value`` as float seconds if it is finite and inside the accepted range."""
    try:
        seconds = float(value)
    except (OverflowError, ValueError, TypeError):
        seconds = math.inf
    if math.isnan(seconds) or (math.isinf(seconds) and isinstance(value, float)):
        raise ValidationError(f"{name} must be a finite number, got {value!r}")
    if MIN_EPOCH <= seconds < END_EPOCH:
        return seconds
    hint = ""
    if shown is None and END_EPOCH <= abs(seconds) < END_EPOCH * 1000:
        hint = "; this looks like epoch milliseconds: pass seconds (divide by 1000)"
    raise ValidationError(
        f"{name}={shown or short_repr(value)} is outside the accepted range {_RANGE} "
        f"(epoch seconds {MIN_EPOCH:.0f} to {END_EPOCH:.0f}){hint}"
    )


def optional_epoch(value: Any, *, name: str) -> float | None:
    """Like :func:`to_epoch` but passes ``None`` through."""
    return None if value is None else to_epoch(value, name=name)


def to_datetime(epoch: Any) -> datetime | None:
    """UTC-aware datetime for stored epoch seconds (``None`` stays ``None``).

    Stored values outside years 1-9999 (older versions accepted them) read as the nearest
    representable instant, so one bad row never breaks a read; a value that is not a number
    at all (or NaN) reads as ``None``.
    """
    if epoch is None:
        return None
    if not isinstance(epoch, int | float):
        try:
            epoch = float(epoch)
        except (TypeError, ValueError, OverflowError):
            return None
    if epoch != epoch:
        return None
    if epoch < MIN_EPOCH:
        return datetime.min.replace(tzinfo=UTC)
    try:
        return _EPOCH + timedelta(seconds=epoch)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def iso(epoch: float) -> str:
    """ISO-8601 UTC string for prompts and logs, to the second."""
    moment = to_datetime(epoch) or _EPOCH
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"
