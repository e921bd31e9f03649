"""extract_json: the JSON in an LLM reply, unwrapped from fences, prose and <think> blocks."""

from __future__ import annotations

import json

import pytest

from mnemoweave.llm import extract_json
from mnemoweave.testing import fenced, prose_wrapped, with_think

OPS = {"operations": [{"op": "ADD", "id": None, "text": "Likes {curly} and [square] brackets"}]}


def test_plain_json_object_and_array() -> None:
    assert extract_json(json.dumps(OPS)) == OPS
    assert extract_json('  [{"a": 1}, {"b": 2}]\n') == [{"a": 1}, {"b": 2}]


def test_bom_and_whitespace() -> None:
    assert extract_json('\ufeff\n  {"a": 1}  \n') == {"a": 1}


@pytest.mark.parametrize("wrap", [fenced, prose_wrapped, with_think], ids=lambda f: f.__name__)
def test_server_reply_helpers_round_trip(wrap: object) -> None:
    assert extract_json(wrap(OPS)) == OPS  # type: ignore[operator]


def test_fence_without_language_and_with_prose_around() -> None:
    text = 'Here you go:\n```\n{"a": [1, 2]}\n```\nAnything else?'
    assert extract_json(text) == {"a": [1, 2]}


def test_first_fence_that_parses_wins() -> None:
    text = "```python\nprint('hi')\n```\n\n```json\n{\"ok\": true}\n```"
    assert extract_json(text) == {"ok": True}


def test_think_blocks_are_removed_even_if_they_contain_json() -> None:
    text = '<think>maybe {"wrong": 1}?</think>\n{"right": 2}'
    assert extract_json(text) == {"right": 2}


def test_unclosed_leading_think_block() -> None:
    text = '<think>\nThe user likes tea, so I add it.\n{"operations": []}'
    assert extract_json(text) == {"operations": []}


def test_closing_think_tag_without_opener() -> None:
    text = 'I should add a fact. {"draft": true}\n</think>\n{"operations": []}'
    assert extract_json(text) == {"operations": []}


def test_braces_and_quotes_inside_strings() -> None:
    value = {"text": 'a "quoted" } and ] and \\ backslash', "n": {"deep": ["x", "}"]}}
    text = f"Result: {json.dumps(value)} -- done }}"
    assert extract_json(text) == value


def test_prefers_an_object_over_bracketed_prose() -> None:
    text = 'As noted in [1] and [2], the answer is {"operations": []}.'
    assert extract_json(text) == {"operations": []}


def test_array_of_objects_inside_prose() -> None:
    text = 'See [1]. Operations: [{"op": "ADD"}] -- end'
    assert extract_json(text) == [{"op": "ADD"}]


def test_raw_newlines_inside_strings_are_accepted() -> None:
    assert extract_json('{"text": "line one\nline two"}') == {"text": "line one\nline two"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("<think>only thinking</think>", "empty"),
        ("I could not find any facts.", "no JSON"),
        ('{"operations": [{"op": "ADD", "text": "cut off', "truncated"),
        ("{'single': 'quotes'}", "truncated"),
        ('{"a": 1,}', "truncated"),
        ("```json\n{broken\n```", "truncated"),
    ],
)
def test_garbage_raises_value_error(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        extract_json(text)


def test_never_returns_content_not_in_the_reply() -> None:
    text = 'prefix {"a": 1} middle {"b": 2} suffix'
    result = extract_json(text)
    assert result == {"a": 1}
    assert json.dumps(result) in text


def test_non_string_input_is_rejected() -> None:
    with pytest.raises(ValueError):
        extract_json(None)  # type: ignore[arg-type]


def test_bracket_heavy_garbage_is_bounded() -> None:
    with pytest.raises(ValueError):
        extract_json("[" * 5_000 + "{")
