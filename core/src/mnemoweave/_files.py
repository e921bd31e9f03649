"""Local files named in messages (image and document parts), read only with ``allow_files``.

A part's URL is a local file when it is a ``file://`` URL or has no scheme at all (a path).
Reading is off by default, because a message can come from a user or an agent and a path
would otherwise let it send any readable file to the LLM; when on, only regular files up to
``max_fetch_bytes`` are read, and every failure is a :class:`ValidationError`.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .errors import ValidationError

__all__ = ["LocalFile", "is_local", "read_local"]


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A file read for a message: its resolved path, guessed MIME type and bytes."""

    path: Path
    mime: str
    body: bytes


def is_local(url: str) -> bool:
    """Whether ``url`` names a local file: ``file://...``, or a path with no URL scheme."""
    if url.startswith("data:"):
        return False
    scheme = urlsplit(url).scheme
    # A one-letter "scheme" is a Windows drive (C:\...), not a URL.
    return scheme == "file" or not scheme or len(scheme) == 1


def _path_of(url: str) -> Path:
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValidationError(f"{url[:80]!r}: file:// URLs must name a local file")
        return Path(unquote(parts.path))
    return Path(url).expanduser()


def read_local(url: str, options: Any, what: str) -> LocalFile:
    """Read the file ``url`` names, if ``options.allow_files`` permits; ``what`` names the part."""
    if not getattr(options, "allow_files", False):
        raise ValidationError(
            f"{what} names a local file ({url[:80]!r}) but reading files is off: pass "
            "allow_files=True to Memory(...), or send it as an https:// URL or a base64 data: URI"
        )
    limit = int(options.max_fetch_bytes)
    path = _path_of(url)
    try:
        resolved = path.resolve(strict=True)
        info = os.stat(resolved)
        if not stat.S_ISREG(info.st_mode):
            raise ValidationError(f"{what}: {str(path)!r} is not a regular file")
        if info.st_size > limit:
            raise ValidationError(
                f"{what}: {str(path)!r} has {info.st_size:,} bytes, more than "
                f"max_fetch_bytes={limit:,}"
            )
        with open(resolved, "rb") as handle:
            body = handle.read(limit + 1)
    except FileNotFoundError:
        raise ValidationError(f"{what}: no file {str(path)!r}") from None
    except OSError as exc:
        raise ValidationError(f"{what}: cannot read {str(path)!r}: {exc.strerror}") from None
    if len(body) > limit:  # grew since stat
        raise ValidationError(f"{what}: {str(path)!r} is larger than max_fetch_bytes={limit:,}")
    mime = mimetypes.guess_type(resolved.name)[0] or ""
    return LocalFile(path=resolved, mime=mime, body=body)
