"""Environment variables and the default home, with the pre-rename (``memweave``) spellings.

The project was called memweave before 0.2; stores and environments set up then keep working:
``MEMWEAVE_*`` variables are still read (with a ``DeprecationWarning``) and an existing
``~/.memweave`` is opened when ``~/.mnemoweave`` does not exist yet.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

logger = logging.getLogger("mnemoweave")

DEFAULT_HOME = "~/.mnemoweave"
LEGACY_HOME = "~/.memweave"

_noticed: set[str] = set()


def env(name: str) -> str | None:
    """``$MNEMOWEAVE_<name>``, else the deprecated ``$MEMWEAVE_<name>`` (with a warning)."""
    value = os.environ.get(f"MNEMOWEAVE_{name}")
    if value:
        return value
    legacy = os.environ.get(f"MEMWEAVE_{name}")
    if legacy:
        warnings.warn(
            f"MEMWEAVE_{name} is deprecated: set MNEMOWEAVE_{name} instead",
            DeprecationWarning,
            stacklevel=3,
        )
        return legacy
    return None


def default_home() -> Path:
    """``$MNEMOWEAVE_HOME``, else ``~/.mnemoweave`` (or an existing pre-rename ``~/.memweave``)."""
    raw = env("HOME")
    if raw:
        return Path(raw).expanduser()
    new, old = Path(DEFAULT_HOME).expanduser(), Path(LEGACY_HOME).expanduser()
    if not new.exists() and old.is_dir():
        if str(old) not in _noticed:
            _noticed.add(str(old))
            logger.warning(
                "mnemoweave: using the existing store in %s (created before the rename); "
                "move it to %s to silence this notice",
                old,
                new,
            )
        return old
    return new
