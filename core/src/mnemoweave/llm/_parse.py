"""Tolerant extraction of the JSON value in an LLM reply.

Models wrap JSON in code fences, explain it in prose, or think aloud in ``<think>`` blocks
first. :func:`extract_json` removes exactly those wrappers and returns a value that appears
verbatim in the reply; it never repairs or completes broken JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["extract_json"]

_THINK_BLOCK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"^\s*<(?:think|thinking|reasoning)>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>", re.IGNORECASE)
_FENCE = re.compile(r"```[\w+-]*[ \t]*\r?\n?(.*?)(?:```|\Z)", re.DOTALL)
_OPENERS = {"{": "}", "[": "]"}
_MAX_FAILED_STARTS = 256  # bounds the quadratic worst case on bracket-heavy garbage


def _loads(text: str) -> Any:
    # strict=False admits raw newlines/tabs inside strings, which small models often emit.
    try:
        return json.loads(text, strict=False)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _strip_thinking(text: str) -> str:
    text = _THINK_BLOCK.sub("", text)
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:  # a closing tag without its opener: the template ate "<think>"
        text = text[closes[-1].end() :]
    match = _THINK_OPEN.match(text)
    if match:  # an unclosed leading block: the thought runs up to the JSON
        rest = text[match.end() :]
        starts = [i for i in (rest.find("{"), rest.find("[")) if i >= 0]
        text = rest[min(starts) :] if starts else ""
    return text


def _balanced_end(text: str, start: int) -> int | None:
    """Index just past the bracket closing ``text[start]``, skipping brackets inside strings."""
    stack = [_OPENERS[text[start]]]
    in_string = escaped = False
    for i in range(start + 1, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in _OPENERS:
            stack.append(_OPENERS[ch])
        elif ch in "}]":
            if ch != stack.pop():
                return None
            if not stack:
                return i + 1
    return None


def _containers(text: str) -> list[Any]:
    """Every top-level JSON object/array in ``text`` that parses, left to right."""
    found: list[Any] = []
    failures = i = 0
    while i < len(text) and failures < _MAX_FAILED_STARTS:
        if text[i] not in _OPENERS:
            i += 1
            continue
        end = _balanced_end(text, i)
        if end is not None:
            try:
                found.append(_loads(text[i:end]))
            except ValueError:
                pass
            else:
                i = end
                continue
        failures += 1
        i += 1
    return found


def _pick(candidates: list[Any]) -> Any:
    """Prefer an object, then an array holding objects, then the first array.

    Prose often contains bracketed asides (``[1]``, ``[see above]``); structured replies
    are objects or arrays of objects, so those win when both occur.
    """
    for value in candidates:
        if isinstance(value, dict):
            return value
    for value in candidates:
        if isinstance(value, list) and any(isinstance(v, dict) for v in value):
            return value
    return candidates[0]


def extract_json(text: str) -> Any:
    """Return the JSON value in an LLM reply, or raise ``ValueError`` saying why not.

    In order: the whole reply (after removing a BOM and ``<think>`` blocks) if it is JSON;
    else the first code-fenced block that is JSON; else the top-level JSON objects/arrays
    found by string-aware bracket matching, preferring an object. Nothing is repaired:
    truncated or invalid JSON is an error, never a guess.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected the reply text, got {type(text).__name__}")
    cleaned = _strip_thinking(text.lstrip("\ufeff")).strip().lstrip("\ufeff")
    if not cleaned:
        raise ValueError("the reply is empty (or only a <think> block)")
    try:
        return _loads(cleaned)
    except ValueError:
        pass
    for block in _FENCE.findall(cleaned):
        try:
            return _loads(block.strip())
        except ValueError:
            continue
    candidates = _containers(cleaned)
    if candidates:
        return _pick(candidates)
    if "{" in cleaned or "[" in cleaned:
        raise ValueError("the reply has a '{' or '[' but no complete, valid JSON (truncated?)")
    raise ValueError("the reply contains no JSON object or array")
