"""Environment variables and the default home, with the pre-rename (``memweave``) spellings.

The project was called memweave before 0.2; stores and environments set up then keep working:
``MEMWEAVE_*`` variables are still read (with a ``DeprecationWarning``) and an existing
``~/.memweave`` is opened when ``~/.mnemoweave`` does not exist yet.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path

logger = logging.getLogger("mnemoweave")

DEFAULT_HOME = "~/.mnemoweave"
LEGACY_HOME = "~/.memweave"

_noticed: set[str] = set()


def _user_stacklevel() -> int:
    """The ``stacklevel`` naming the first caller outside this package.

    Python's default filters show a ``DeprecationWarning`` only when it is attributed to
    ``__main__``, so it must point at the user's line, not at ours.
    """
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1  # level 1 is the frame that calls warnings.warn
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


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
            stacklevel=_user_stacklevel(),
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
