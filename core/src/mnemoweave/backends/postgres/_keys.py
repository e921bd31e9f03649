"""Advisory-lock keys and the parsing of a ``postgresql://`` backend URL.

mnemoweave's own URL parameters (``collection``, ``pool_min``, ``pool_max``, ``erase``) are
taken out of the query string before the rest goes to libpq, and the password never reaches a
message.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ...errors import ConfigurationError

#: The schema a URL without ``?collection=`` uses.
DEFAULT_COLLECTION = "mnemoweave"
_COLLECTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def lock_key(kind: str, schema: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_xact_lock`` (same in every process)."""
    digest = hashlib.blake2b(f"mnemoweave|{kind}|{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a backend URL points: libpq conninfo, collection (schema), pool bounds."""

    conninfo: str
    collection: str
    pool_min: int
    pool_max: int
    location: str
    #: ``"vacuum"``: every erasure rewrites the tables at once (``VACUUM FULL``), so
    #: ``delete`` can report the text gone from the table files; ``"deferred"``: until purge().
    erase: str = "deferred"


def _int(params: dict[str, str], name: str, default: int) -> int:
    raw = params.pop(name, None)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise ConfigurationError(f"backend URL parameter {name}={raw!r}: use 1..1000")
    return int(raw)


def parse_url(url: str, collection: str | None = None) -> Target:
    """Split a backend URL into what libpq and mnemoweave each need (see the module doc)."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    name = params.pop("collection", None) or collection or DEFAULT_COLLECTION
    if not _COLLECTION.fullmatch(name):
        raise ConfigurationError(
            f"collection {name!r}: use 1-63 letters, digits, '_', '-' or '.', starting with a "
            "letter or digit"
        )
    pool_min = _int(params, "pool_min", 1)
    pool_max = _int(params, "pool_max", 10)
    if pool_min > pool_max:
        raise ConfigurationError(f"pool_min={pool_min} is above pool_max={pool_max}")
    erase = params.pop("erase", "deferred")
    if erase not in ("deferred", "vacuum"):
        raise ConfigurationError(f"backend URL parameter erase={erase!r}: use deferred or vacuum")
    conninfo = urlunsplit(parts._replace(query=urlencode(params)))
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}:***@{host}" if ":" in user else netloc
    location = urlunsplit(parts._replace(netloc=netloc, query=urlencode(params)))
    return Target(conninfo, name, pool_min, pool_max, f"{location}#{name}", erase)
