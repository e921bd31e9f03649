"""Storage backends behind one seam (:mod:`.base`): ``sqlite`` (embedded, the default) and
``postgres`` (PostgreSQL + pgvector, the ``postgres`` extra).

:func:`open_backend` turns the ``backend`` option into a backend: ``None`` or ``"sqlite"``
opens the embedded store under the config's data directory (``None`` with no ``path`` reads
``$MNEMOWEAVE_BACKEND`` first); a ``postgresql://`` URL opens a PostgreSQL collection; an
object that already speaks the :class:`~mnemoweave.backends.base.Backend` protocol is used
as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._env import env
from ..errors import ConfigurationError
from .base import (
    Backend,
    ContextReader,
    ContextRows,
    NewRow,
    Reader,
    Scored,
    Selection,
    Target,
    Writer,
)

if TYPE_CHECKING:
    from ..config import MemoryConfig

__all__ = [
    "Backend",
    "ContextReader",
    "ContextRows",
    "NewRow",
    "Reader",
    "Scored",
    "Selection",
    "Target",
    "Writer",
    "check_backend",
    "open_backend",
]

_SERVER_SCHEMES = ("postgresql://", "postgres://")


def open_backend(spec: Any, config: MemoryConfig) -> Backend:
    """The backend ``spec`` names (see the module docstring); raises ``ConfigurationError``."""
    if spec is None and config.path is None:
        spec = env("BACKEND")
    kind = check_backend(spec)
    if kind == "sqlite":
        from .sqlite import SQLiteBackend

        return SQLiteBackend(
            config.data_dir(), durability=config.durability, busy_timeout=config.busy_timeout
        )
    if kind == "postgresql":
        return _server_backend(spec, config)
    backend: Backend = spec
    return backend


def check_backend(spec: Any) -> str:
    """Name the backend ``spec`` selects without opening it; raises ``ConfigurationError``."""
    if spec is None or spec == "sqlite":
        return "sqlite"
    if isinstance(spec, str):
        if not spec.startswith(_SERVER_SCHEMES):
            raise ConfigurationError(
                f"unknown backend {spec!r}: use 'sqlite' (the default), a postgresql:// URL, "
                "or a Backend object"
            )
        try:
            from . import postgres  # noqa: F401
        except ImportError:
            raise ConfigurationError(_NO_SERVER_BACKEND) from None
        return "postgresql"
    if isinstance(spec, Backend):
        return type(spec).__name__
    raise ConfigurationError(
        f"backend must be 'sqlite', a postgresql:// URL or a Backend object, got "
        f"{type(spec).__name__}"
    )


_NO_SERVER_BACKEND = (
    "a postgresql:// backend needs the postgres extra: pip install 'mnemoweave[postgres]'"
    " (psycopg 3, psycopg_pool, pgvector)"
)


def _server_backend(url: str, config: MemoryConfig) -> Backend:
    try:
        from .postgres import open_postgres
    except ImportError:
        raise ConfigurationError(_NO_SERVER_BACKEND) from None
    backend: Backend = open_postgres(url, config)
    return backend
