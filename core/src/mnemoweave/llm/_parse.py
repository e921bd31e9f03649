"""Tolerant extraction of the JSON value in an LLM reply, in time linear in the reply's length.

Models wrap JSON in code fences, explain it in prose, or think aloud in ``<think>`` blocks
first. :func:`extract_json` removes exactly those wrappers and returns a value that appears
verbatim in the reply; it never repairs or completes broken JSON.

Every step is linear in the reply's length ``n``, however the reply is nested: ``<think>`` tags
are paired in one pass; JSON containers come from a string-aware bracket scan that yields each
balanced region with the balanced regions inside it; a region that is not JSON gives way to
the regions inside it, at most ``_FALLBACK_DEPTH`` levels down; at most ``_MAX_DECODES``
regions are handed to ``json.loads``; and a scan that ends inside an unbalanced opener holding
a quote (an odd quote in prose can hide the JSON behind it) restarts just after the opener only
while the characters scanned stay under ``_SCAN_FACTOR`` times ``n``. :class:`ParseStats`
counts the work, so tests can check it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["ParseStats", "extract_json", "strip_thinking"]

_THINK_TAG = re.compile(r"<(/?)(think|thinking|reasoning)>", re.IGNORECASE)
_THINK_OPEN = re.compile(r"^\s*<(?:think|thinking|reasoning)>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</(?:think|thinking|reasoning)>", re.IGNORECASE)
_FENCE = re.compile(r"```[\w+-]*[ \t]*\r?\n?(.*?)(?:```|\Z)", re.DOTALL)
_OPENER = re.compile(r"[{\[]")
_INSIDE = re.compile(r'[][{}"]')
# The rest of a JSON string after its opening quote (the "unrolled loop": no backtracking).
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_CLOSER = {"{": "}", "[": "]"}
#: How many levels below a balanced region that is not valid JSON are still tried.
_FALLBACK_DEPTH = 3
#: A scan that ends inside an unbalanced opener restarts just after it at most this often,
#: and only while the characters scanned stay under ``_SCAN_FACTOR`` times the text.
_MAX_RESTARTS = 32
_SCAN_FACTOR = 4
#: Deeper nesting than this is never a reply (json.loads could not even read it).
_MAX_NESTING = 512
#: Balanced regions decoded at most, looking for an object among bracketed prose.
_MAX_DECODES = 1000


@dataclass(slots=True)
class ParseStats:
    """Work done by one :func:`extract_json` call (to check that it stays linear)."""

    scanned: int = 0  # characters the bracket scanner passed over, restarts included
    decode_attempts: int = 0  # json.loads calls
    decoded: int = 0  # characters handed to json.loads


def _loads(text: str, stats: ParseStats) -> Any:
    stats.decode_attempts += 1
    stats.decoded += len(text)
    # strict=False admits raw newlines/tabs inside strings, which small models often emit.
    try:
        return json.loads(text, strict=False)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def strip_thinking(text: str) -> str:
    """``text`` without its ``<think>``/``<thinking>``/``<reasoning>`` blocks, in linear time.

    Each opener pairs with the next closer of the same name and the block is removed; a
    closer left without an opener means a chat template ate the opener, so only what follows
    the last such closer is kept.
    """
    tags = list(_THINK_TAG.finditer(text))
    closers: dict[str, list[re.Match[str]]] = {}
    for tag in tags:
        if tag.group(1):
            closers.setdefault(tag.group(2).lower(), []).append(tag)
    cursor = dict.fromkeys(closers, 0)  # per name: the first closer not yet behind us
    pieces: list[str] = []
    kept_from = 0
    for tag in tags:
        if tag.group(1) or tag.start() < kept_from:
            continue
        name = tag.group(2).lower()
        candidates = closers.get(name, [])
        k = cursor.get(name, 0)
        while k < len(candidates) and candidates[k].start() < tag.end():
            k += 1
        cursor[name] = k
        if k < len(candidates):  # else no closer follows: the opener stays, as text
            pieces.append(text[kept_from : tag.start()])
            kept_from = candidates[k].end()
    pieces.append(text[kept_from:])
    text = "".join(pieces)
    orphan_ends = [m.end() for m in _THINK_CLOSE.finditer(text)]
    return text[orphan_ends[-1] :] if orphan_ends else text


def _strip_thinking_before_json(text: str) -> str:
    text = strip_thinking(text)
    match = _THINK_OPEN.match(text)
    if match:  # an unclosed leading block: the thought runs up to the JSON
        rest = text[match.end() :]
        starts = [i for i in (rest.find("{"), rest.find("[")) if i >= 0]
        text = rest[min(starts) :] if starts else ""
    return text


@dataclass(slots=True)
class _Node:
    """A balanced ``{...}`` or ``[...]`` region and the balanced regions directly inside it."""

    start: int
    end: int
    children: list[_Node] | None


def _regions(text: str, stats: ParseStats, lo: int = 0, hi: int | None = None) -> Iterator[_Node]:
    """The outermost balanced regions of ``text[lo:hi]``, each with its tree of inner regions.

    Regions are yielded as the scan finds them, so a caller that has what it needs stops the
    scan there.

    Outside any region quotes are prose and ignored; inside one, strings (with escapes) hide
    brackets. A wrong closer, nesting deeper than ``_MAX_NESTING``, or the end of the text
    inside a region abandons the open regions: the balanced regions found inside them are
    kept and the scan goes on. When the abandoned span holds a quote (which may have hidden
    JSON inside a "string"), the scan first restarts just after the outermost opener, within
    the restart budget.
    """
    size = len(text) if hi is None else hi
    budget = stats.scanned + _SCAN_FACTOR * (size - lo) + 64
    restarts = 0
    position = lo
    while position < size:
        # The open regions: their starts, expected closers, and balanced regions inside.
        starts: list[int] = []
        closers: list[str] = []
        inner: list[list[_Node] | None] = []
        at = position
        stopped = size  # where this scan ended: the end, or just past the failing character
        while True:
            found = (_INSIDE if starts else _OPENER).search(text, at, size)
            if found is None:
                break
            at = found.start()
            char = text[at]
            if char == '"':
                closed = _STRING_REST.match(text, at + 1, size)
                if closed is None:  # the string runs to the end of the text
                    break
                at = closed.end()
                continue
            if char in _CLOSER:
                if len(starts) == _MAX_NESTING:
                    stopped = at + 1
                    break
                starts.append(at)
                closers.append(_CLOSER[char])
                inner.append(None)
            elif char == closers[-1]:
                closers.pop()
                node = _Node(starts.pop(), at + 1, inner.pop())
                if not starts:
                    yield node
                elif inner[-1] is None:
                    inner[-1] = [node]
                else:
                    inner[-1].append(node)
            else:
                stopped = at + 1
                break
            at += 1
        stats.scanned += stopped - position
        if not starts:
            break
        if (
            restarts < _MAX_RESTARTS
            and stats.scanned + size - starts[0] <= budget
            and text.find('"', starts[0], stopped) >= 0
        ):
            restarts += 1
            position = starts[0] + 1  # try again just after the unbalanced opener
            continue
        for nodes in inner:
            yield from nodes or ()
        position = stopped


def _decoded(text: str, nodes: Iterable[_Node], depth: int, stats: ParseStats) -> list[Any]:
    """Values of the regions that parse, in text order; a region that does not parse gives
    way to the regions inside it, down to ``_FALLBACK_DEPTH`` levels. Stops at an object,
    or after ``_MAX_DECODES`` attempts.
    """
    out: list[Any] = []
    for node in nodes:
        if stats.decode_attempts >= _MAX_DECODES:
            break
        try:
            value = _loads(text[node.start : node.end], stats)
        except ValueError:
            if depth < _FALLBACK_DEPTH:
                # Inside a region that is not JSON, a stray quote may have hidden the JSON
                # in a "string": then look again at its inside with fresh eyes.
                inside = (
                    _regions(text, stats, node.start + 1, node.end - 1)
                    if text.find('"', node.start, node.end) >= 0
                    else node.children or []
                )
                out.extend(_decoded(text, inside, depth + 1, stats))
        else:
            out.append(value)
        if out and isinstance(out[-1], dict):
            break
    return out


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


def extract_json(text: str, *, stats: ParseStats | None = None) -> Any:
    """Return the JSON value in an LLM reply, or raise ``ValueError`` saying why not.

    In order: the whole reply (after removing a BOM and ``<think>`` blocks) if it is JSON;
    else the first code-fenced block that is JSON; else the top-level JSON objects/arrays
    found by string-aware bracket matching, preferring an object. Nothing is repaired:
    truncated or invalid JSON is an error, never a guess. ``stats``, when given, receives
    the work done (see :class:`ParseStats`).
    """
    if not isinstance(text, str):
        raise ValueError(f"expected the reply text, got {type(text).__name__}")
    stats = ParseStats() if stats is None else stats
    cleaned = _strip_thinking_before_json(text.lstrip("\ufeff")).strip().lstrip("\ufeff")
    if not cleaned:
        raise ValueError("the reply is empty (or only a <think> block)")
    try:
        return _loads(cleaned, stats)
    except ValueError:
        pass
    for block in _FENCE.findall(cleaned):
        try:
            return _loads(block.strip(), stats)
        except ValueError:
            continue
    candidates = _decoded(cleaned, _regions(cleaned, stats), 0, stats)
    if candidates:
        return _pick(candidates)
    if "{" in cleaned or "[" in cleaned:
        raise ValueError("the reply has a '{' or '[' but no complete, valid JSON (truncated?)")
    raise ValueError("the reply contains no JSON object or array")
