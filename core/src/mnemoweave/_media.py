"""Image parts of messages: parsing them, checking a vision model is there, sending them.

Images are never dropped: with ``infer`` they go to a vision-capable LLM as OpenAI
``image_url`` parts inside the one extraction call; with ``infer=False`` the stored text
carries a reference to each (its URL, or the type, size and hash of an inline image). A
local file (a path or ``file://`` URL, only with ``allow_files=True``) is read and sent
inline as a data URI; its reference names the file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ._files import is_local, read_local
from .errors import ValidationError

__all__ = ["Image", "image_from_part", "require_vision", "user_content"]

_IMAGE_HINT = (
    '{"type": "image_url", "image_url": {"url": "https://... or data:image/png;base64,..."}}'
)
_DETAILS = ("auto", "high", "low")
#: Largest inline (base64) image accepted, in decoded bytes.
MAX_INLINE_IMAGE_BYTES = 20_000_000


@dataclass(frozen=True, slots=True)
class Image:
    """One image a message carries: an http(s) URL or a data URI, and its detail level."""

    url: str
    detail: str | None = None
    #: The local file the image was read from (then ``url`` is its data URI).
    file: str | None = None

    def reference(self, number: int) -> str:
        """The text that stands for the image in stored text and in the prompt."""
        if not self.url.startswith("data:"):
            return f"[image {number}: {self.url}]"
        mime = self.url[5:].split(";")[0] or "image"
        data = base64.b64decode(self.url.partition(",")[2])
        digest = hashlib.sha256(data).hexdigest()[:16]
        where = f"file {self.file}" if self.file else "inline"
        return f"[image {number}: {where} {mime}, {len(data):,} bytes, sha256:{digest}]"


def _from_file(url: str, detail: str | None, where: str, options: Any) -> Image:
    found = read_local(url, options, f"{where} (an image)")
    mime = found.mime
    if not mime.startswith("image/"):
        raise ValidationError(
            f"{where}: {found.path.name!r} is not an image file (type {mime or 'unknown'!r})"
        )
    if len(found.body) > MAX_INLINE_IMAGE_BYTES:
        raise ValidationError(f"{where}: the image is larger than {MAX_INLINE_IMAGE_BYTES:,} bytes")
    data = base64.b64encode(found.body).decode("ascii")
    return Image(url=f"data:{mime};base64,{data}", detail=detail, file=found.path.name)


def image_from_part(part: Mapping[str, Any], where: str, options: Any = None) -> Image:
    """Validate an OpenAI ``image_url`` part (URL, base64 data URI, or with ``allow_files``
    in ``options`` a local path) into an :class:`Image`."""
    inner = part.get("image_url")
    url: Any
    detail: Any
    if isinstance(inner, str):
        url, detail = inner, None
    elif isinstance(inner, Mapping):
        url, detail = inner.get("url"), inner.get("detail")
    else:
        raise ValidationError(f"{where} is an image part without an image_url: write {_IMAGE_HINT}")
    if not isinstance(url, str) or not url:
        raise ValidationError(f"{where} needs image_url.url: write {_IMAGE_HINT}")
    if detail is not None and detail not in _DETAILS:
        raise ValidationError(f"{where} image_url.detail must be one of {list(_DETAILS)}")
    if url.startswith("data:"):
        head, sep, data = url.partition(",")
        if not sep or not head.endswith(";base64") or not head[5:].startswith("image/"):
            raise ValidationError(f"{where}: an inline image must be data:image/<type>;base64,...")
        if len(data) * 3 // 4 > MAX_INLINE_IMAGE_BYTES:
            raise ValidationError(
                f"{where}: the inline image is larger than {MAX_INLINE_IMAGE_BYTES:,} bytes"
            )
        try:
            base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(f"{where}: the inline image is not valid base64") from None
    elif is_local(url):
        return _from_file(url, detail, where, options)
    elif urlsplit(url).scheme not in ("http", "https"):
        raise ValidationError(
            f"{where}: image URLs must be https://..., http://..., a base64 data: URI, or "
            "a local path with allow_files=True"
        )
    return Image(url=url, detail=detail)


def require_vision(messages: Sequence[Any], infer: bool, llm: Any) -> None:
    """Raise unless the add can use its images: a vision LLM for infer, or a stored reference."""
    if not infer or not any(getattr(m, "images", ()) for m in messages):
        return
    config = getattr(llm, "config", None)
    if not getattr(config, "enable_vision", False):
        raise ValidationError(
            "the messages carry images but the LLM is not set up for vision: pass "
            "llm={..., 'enable_vision': True} with a vision-capable model, or add with "
            "infer=False to store a reference to each image"
        )


def user_content(text: str, messages: Sequence[Any], llm: Any) -> str | list[dict[str, Any]]:
    """The extraction call's user content: the prompt text, then the messages' images."""
    images = [img for m in messages for img in getattr(m, "images", ())]
    if not images:
        return text
    default = getattr(getattr(llm, "config", None), "vision_details", "auto")
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    for img in images:
        parts.append(
            {"type": "image_url", "image_url": {"url": img.url, "detail": img.detail or default}}
        )
    return parts
