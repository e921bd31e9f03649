"""Image (and document) content of framework messages as OpenAI content parts.

Frameworks spell an image in a message differently: OpenAI ``image_url`` parts, LangChain's
standard blocks (``{"type": "image", "url" | "base64" ...}``, and the older ``source_type``
form), Anthropic-style ``source`` dicts, LlamaIndex ``ImageBlock`` objects, AutoGen
``autogen_core.Image`` objects. :func:`image_part` turns any of them into the one shape
mnemoweave's ``add`` takes, so every adapter passes images through to the extraction call
instead of dropping them. Nothing here imports a framework: objects are read by attribute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mnemoweave.errors import ValidationError

__all__ = ["DOCUMENT_PART_TYPES", "image_part", "media_parts"]

#: mem0's document parts; passed through to ``add`` unchanged.
DOCUMENT_PART_TYPES = frozenset({"pdf_url", "mdx_url", "txt_url"})


def _data_uri(mime: Any, data: Any, where: str) -> str:
    if isinstance(data, bytes | bytearray):
        data = bytes(data).decode("ascii", errors="replace")
    if not isinstance(data, str) or not data:
        raise ValidationError(f"{where}: an inline image needs its base64 data")
    if not isinstance(mime, str) or not mime.startswith("image/"):
        raise ValidationError(
            f"{where}: an inline image needs an image MIME type (mime_type='image/png'...)"
        )
    return f"data:{mime};base64,{data}"


def _openai(url: Any, detail: Any = None, where: str = "message") -> dict[str, Any]:
    if url is None or not str(url):
        raise ValidationError(f"{where}: the image part has no URL")
    inner: dict[str, Any] = {"url": str(url)}
    if isinstance(detail, str) and detail:
        inner["detail"] = detail
    return {"type": "image_url", "image_url": inner}


def _from_mapping(part: Mapping[str, Any], where: str) -> dict[str, Any] | None:
    kind = part.get("type")
    if kind == "image_url":
        inner = part.get("image_url")
        if isinstance(inner, Mapping):
            return _openai(inner.get("url"), inner.get("detail"), where)
        return _openai(inner, part.get("detail"), where)
    if kind == "input_image":  # OpenAI Responses API
        return _openai(part.get("image_url"), part.get("detail"), where)
    if kind != "image":
        return None
    detail = part.get("detail")
    extras = part.get("extras")
    if detail is None and isinstance(extras, Mapping):
        detail = extras.get("detail")
    source = part.get("source")
    if isinstance(source, Mapping):  # Anthropic's {"type": "base64" | "url", ...}
        if source.get("type") == "url":
            return _openai(source.get("url"), detail)
        return _openai(_data_uri(source.get("media_type"), source.get("data"), where), detail)
    source_type = part.get("source_type")  # LangChain's older standard blocks
    if part.get("url") is not None and source_type in (None, "url"):
        return _openai(part["url"], detail)
    if part.get("base64") is not None or source_type == "base64":
        data = part.get("base64", part.get("data"))
        mime = part.get("mime_type", part.get("mimeType"))
        return _openai(_data_uri(mime, data, where), detail)
    if part.get("file_id") is not None or source_type == "id":
        raise ValidationError(
            f"{where}: an image given by a provider file id cannot be read by mnemoweave; "
            "pass its URL or base64 data"
        )
    raise ValidationError(f"{where}: an image block needs a 'url' or 'base64' data")


def _from_object(obj: Any, where: str) -> dict[str, Any] | None:
    if getattr(obj, "block_type", None) == "image":  # LlamaIndex ImageBlock
        detail = getattr(obj, "detail", None)
        if getattr(obj, "url", None) is not None:
            return _openai(obj.url, detail)
        if isinstance(getattr(obj, "image", None), bytes):  # already base64 (its validator)
            return _openai(_data_uri(obj.image_mimetype, obj.image, where), detail)
        if getattr(obj, "path", None) is not None:  # a local file: core's allow_files decides
            return _openai(str(obj.path), detail)
        raise ValidationError(f"{where}: the ImageBlock has no url, image data or path")
    data_uri = getattr(type(obj), "data_uri", None)
    if isinstance(data_uri, property) and callable(getattr(obj, "to_base64", None)):
        return _openai(obj.data_uri)  # autogen_core.Image (a PIL image, sent as PNG)
    return None


def image_part(obj: Any, where: str = "message") -> dict[str, Any] | None:
    """``obj`` as an OpenAI ``image_url`` part when it is an image in any known spelling.

    Returns ``None`` for anything that is not an image; raises
    :class:`~mnemoweave.errors.ValidationError` for an image that cannot be used (no data,
    a provider file id) rather than dropping it.
    """
    if isinstance(obj, Mapping):
        return _from_mapping(obj, where)
    if isinstance(obj, str | bytes | bytearray | int | float) or obj is None:
        return None
    return _from_object(obj, where)


def media_parts(content: Any, where: str = "message") -> list[dict[str, Any]]:
    """The image (and mem0 document) parts of message content, in order."""
    items: Any = content
    if not isinstance(content, Sequence) or isinstance(content, str | bytes | bytearray):
        items = []
    if isinstance(content, Mapping):
        items = [content]
    out = []
    for index, item in enumerate(items):
        if isinstance(item, Mapping) and item.get("type") in DOCUMENT_PART_TYPES:
            out.append(dict(item))
            continue
        part = image_part(item, f"{where} part {index}")
        if part is not None:
            out.append(part)
    return out
