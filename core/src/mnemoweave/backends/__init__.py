"""Storage backends behind one seam (:mod:`.base`): ``sqlite`` (embedded, the default).

:func:`open_backend` turns the ``backend`` option into a backend: ``None`` or ``"sqlite"``
opens the embedded store under the config's data directory; an object that already speaks
the :class:`~mnemoweave.backends.base.Backend` protocol is used as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    "open_backend",
]

_SERVER_SCHEMES = ("postgresql://", "postgres://")


def open_backend(spec: Any, config: MemoryConfig) -> Backend:
    """The backend ``spec`` names (see the module docstring); raises ``ConfigurationError``."""
    if spec is None or spec == "sqlite":
        from .sqlite import SQLiteBackend

        return SQLiteBackend(
            config.data_dir(), durability=config.durability, busy_timeout=config.busy_timeout
        )
    if isinstance(spec, str):
        if spec.startswith(_SERVER_SCHEMES):
            return _server_backend(spec, config)
        raise ConfigurationError(
            f"unknown backend {spec!r}: use 'sqlite' (the default), a postgresql:// URL, or a "
            "Backend object"
        )
    if isinstance(spec, Backend):
        return spec
    raise ConfigurationError(
        f"backend must be 'sqlite', a postgresql:// URL or a Backend object, got "
        f"{type(spec).__name__}"
    )


def _server_backend(url: str, config: MemoryConfig) -> Backend:
    try:
        from .postgres import open_postgres
    except ImportError:
        raise ConfigurationError(
            "a postgresql:// backend is not part of this mnemoweave release yet; use the "
            "embedded 'sqlite' backend (the default)"
        ) from None
    backend: Backend = open_postgres(url, config)
    return backend
