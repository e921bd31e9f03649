"""API keys: created once (the secret is shown then and never again), stored hashed in a file.

A key is ``mw_<id>_<secret>``; the file keeps its id, a SHA-256 of the whole key, and what it
may touch: every user, a list of ``user_id``s, or the ``user_id``s with a prefix; read-only or
not; admin (reset, verify, everyone's webhooks) or not. Writers take a lock file and replace
the file atomically; servers re-read it when it changes, so revoking takes effect at once.
"""

from __future__ import annotations

import builtins
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mnemoweave.errors import ConfigurationError, NotFoundError, ValidationError

PREFIX = "mw_"
_FORMAT = 1


@dataclass(frozen=True, slots=True)
class ApiKey:
    """What a key may do (never its secret). ``users=None`` and no prefix: every user."""

    id: str
    name: str
    users: tuple[str, ...] | None = None
    user_prefix: str | None = None
    read_only: bool = False
    admin: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    revoked_at: datetime | None = None

    @property
    def restricted(self) -> bool:
        """Whether the key is bound to some users rather than all of them."""
        return self.users is not None or self.user_prefix is not None

    def allows_user(self, user_id: str | None) -> bool:
        """Whether the key may touch memories of ``user_id`` (``None``: memories without one)."""
        if not self.restricted:
            return True
        if user_id is None:
            return False
        if self.users is not None and user_id in self.users:
            return True
        return self.user_prefix is not None and user_id.startswith(self.user_prefix)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "users": list(self.users) if self.users is not None else None,
            "user_prefix": self.user_prefix,
            "read_only": self.read_only,
            "admin": self.admin,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly created key: ``key`` is the secret to hand to the client (shown only now)."""

    key: str
    info: ApiKey


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _key_id(token: str) -> str | None:
    if not token.startswith(PREFIX):
        return None
    parts = token.split("_", 2)
    return parts[1] if len(parts) == 3 and parts[1] and parts[2] else None


def _from_record(rec: dict[str, Any]) -> ApiKey:
    users = rec.get("users")
    revoked = rec.get("revoked_at")
    return ApiKey(
        id=rec["id"],
        name=rec["name"],
        users=tuple(users) if users is not None else None,
        user_prefix=rec.get("user_prefix"),
        read_only=bool(rec.get("read_only")),
        admin=bool(rec.get("admin")),
        created_at=datetime.fromisoformat(rec["created_at"]),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
    )


def _check_scope(
    name: Any, users: Sequence[str] | None, user_prefix: str | None, admin: bool
) -> tuple[str, tuple[str, ...] | None]:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValidationError("a key needs a name of 1 to 200 characters")
    bound: tuple[str, ...] | None = None
    if users is not None:
        if isinstance(users, str):
            users = [users]
        bound = tuple(dict.fromkeys(users))
        if not bound or not all(isinstance(u, str) and u.strip() for u in bound):
            raise ValidationError("users must be a non-empty list of non-empty user ids")
    if user_prefix is not None and (not isinstance(user_prefix, str) or not user_prefix):
        raise ValidationError("user_prefix must be a non-empty string")
    if admin and (bound is not None or user_prefix is not None):
        raise ValidationError("an admin key reaches every user; do not bind it to users")
    return name.strip(), bound


class KeyStore:
    """The keys file of one server (thread-safe; re-read whenever the file changes)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._by_id: dict[str, tuple[str, ApiKey]] = {}

    # -- reading ---------------------------------------------------------------------------
    def _read(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ConfigurationError(f"cannot read the keys file {self.path}: {exc}") from exc
        try:
            data = json.loads(text)
            records = data["keys"]
            assert isinstance(records, list)
        except (ValueError, KeyError, TypeError, AssertionError):
            raise ConfigurationError(f"{self.path} is not a mnemoweave keys file") from None
        return records

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
            stamp: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp and (stamp is not None or not self._by_id):
            return
        records = self._read()
        self._by_id = {r["id"]: (r["hash"], _from_record(r)) for r in records}
        self._stamp = stamp

    def authenticate(self, token: str) -> ApiKey | None:
        """The live key ``token`` stands for, or ``None`` (unknown, malformed or revoked)."""
        key_id = _key_id(token)
        if key_id is None:
            return None
        with self._lock:
            self._refresh()
            found = self._by_id.get(key_id)
        if found is None or not hmac.compare_digest(found[0], _digest(token)):
            return None
        return None if found[1].revoked_at else found[1]

    def get(self, key_id: str) -> ApiKey | None:
        """A key by id (revoked ones included), as the file says now."""
        with self._lock:
            self._refresh()
            found = self._by_id.get(key_id)
        return None if found is None else found[1]

    def list(self) -> builtins.list[ApiKey]:
        with self._lock:
            self._refresh()
            return [info for _, info in self._by_id.values()]

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def _editing(self) -> Iterator[builtins.list[dict[str, Any]]]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = self._read()
            yield records
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"format": _FORMAT, "keys": records}, out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)

    def create(
        self,
        name: str,
        *,
        users: Sequence[str] | None = None,
        user_prefix: str | None = None,
        read_only: bool = False,
        admin: bool = False,
    ) -> NewKey:
        """Make a key and store its hash; the returned secret is not kept anywhere."""
        clean, bound = _check_scope(name, users, user_prefix, admin)
        key_id = secrets.token_hex(6)
        token = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        info = ApiKey(
            id=key_id,
            name=clean,
            users=bound,
            user_prefix=user_prefix,
            read_only=bool(read_only),
            admin=bool(admin),
        )
        with self._editing() as records:
            records.append({**info.to_dict(), "hash": _digest(token)})
        return NewKey(token, info)

    def revoke(self, key_id: str) -> ApiKey:
        """Mark a key revoked (kept in the file so its id is never reused silently)."""
        with self._editing() as records:
            for rec in records:
                if rec["id"] == key_id:
                    if not rec.get("revoked_at"):
                        rec["revoked_at"] = datetime.now(UTC).isoformat()
                    return _from_record(rec)
        raise NotFoundError(f"no API key with id {key_id!r} in {self.path}")


# -- the library API the CLI wraps ------------------------------------------------------------
def _store(keys_file: str | os.PathLike[str] | None) -> KeyStore:
    if keys_file is None:
        from ._settings import ServerSettings, plain_env

        keys_file = ServerSettings(**plain_env()).keys_path()
    return KeyStore(keys_file)


def create_key(
    name: str,
    *,
    users: Sequence[str] | None = None,
    user_prefix: str | None = None,
    read_only: bool = False,
    admin: bool = False,
    keys_file: str | os.PathLike[str] | None = None,
) -> NewKey:
    """Create an API key in ``keys_file`` (default: the server's) and return its secret once."""
    return _store(keys_file).create(
        name, users=users, user_prefix=user_prefix, read_only=read_only, admin=admin
    )


def list_keys(keys_file: str | os.PathLike[str] | None = None) -> list[ApiKey]:
    """Every key in ``keys_file``, revoked ones included (no secrets: they are not stored)."""
    return _store(keys_file).list()


def revoke_key(key_id: str, keys_file: str | os.PathLike[str] | None = None) -> ApiKey:
    """Revoke a key by id; running servers refuse it from their next request on."""
    return _store(keys_file).revoke(key_id)
