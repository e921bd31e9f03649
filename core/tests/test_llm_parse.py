"""extract_json: the JSON in an LLM reply, unwrapped from fences, prose and <think> blocks."""

from __future__ import annotations

import json

import pytest

from mnemoweave.llm import extract_json
from mnemoweave.llm._parse import ParseStats, strip_thinking
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


def test_think_blocks_pair_like_the_tags_say() -> None:
    assert extract_json('<think>a<reasoning>b</reasoning> {"x": 1}') == {"x": 1}
    assert extract_json('<THINK>{"no": 1}</think>{"yes": 2}') == {"yes": 2}
    assert extract_json('<think>a<think>b</think>c</think>{"after": 3}') == {"after": 3}
    assert strip_thinking("keep <reasoning>drop</reasoning> this") == "keep  this"
    assert strip_thinking("<think>" * 3 + "plain text") == "<think>" * 3 + "plain text"


def test_json_behind_a_stray_quote_is_still_found() -> None:
    assert extract_json('Note [the user\'s "favourite: {"operations": []}') == {"operations": []}
    assert extract_json('["{"operations": []}[1, 2]x"y] ') == {"operations": []}
    assert extract_json('{"operations": [{"op": "NONE", "id": 0, "text": null}],}') == [
        {"op": "NONE", "id": 0, "text": None}
    ]


def adversarial(n: int) -> dict[str, str]:
    """Bracket-heavy replies of about ``n`` characters that defeat naive bracket matching."""
    return {
        "openers": "[" * n,
        "braces": "{" * n,
        "quoted openers": '["' * (n // 2),
        "open objects": '{"a": [' * (n // 7),
        "many small arrays": "[]" * (n // 2),
        "invalid arrays": "[x]" * (n // 3),
        "deep then invalid": "[" * (n // 2) + "x" + "]" * (n // 2),
        "mismatched": "[}" * (n // 2),
        "trailing commas": '[{"a":1,},' * (n // 10),
        "odd prose quotes": 'He said "hi [ and ' * (n // 18),
        "unclosed string": "[" * 64 + '"' + "x" * (n - 65),
        "nested strings": '[{"k": "[{\\"' * (n // 12),
    }


def work(text: str) -> ParseStats:
    stats = ParseStats()
    try:
        extract_json(text, stats=stats)
    except ValueError:
        pass
    return stats


@pytest.mark.timeout(120)  # a guard only: the assertions are on the work done
def test_parsing_work_is_linear_in_the_reply_length() -> None:
    """The defect: a 200 kB bracket-heavy reply took seconds, 1 MB took minutes (quadratic).

    Every character is scanned a bounded number of times and json.loads sees a bounded
    multiple of the reply; quadrupling the reply at most quadruples the work.
    """
    small, large = adversarial(50_000), adversarial(200_000)
    for shape, text in large.items():
        stats, base = work(text), work(small[shape])
        n = len(text)
        assert stats.scanned <= 20 * n, shape
        assert stats.decoded <= 8 * n, shape
        assert stats.decode_attempts <= 1_100, shape
        grown = (stats.scanned + stats.decoded) / max(1, base.scanned + base.decoded)
        assert grown <= 1.15 * n / len(small[shape]), shape  # about 4x, where quadratic is 16x


@pytest.mark.timeout(120)  # a guard only: the assertions are on the work done
def test_a_megabyte_of_brackets_fails_with_bounded_work() -> None:
    for shape in ("openers", "open objects", "odd prose quotes"):
        text = adversarial(1_000_000)[shape]
        stats = ParseStats()
        with pytest.raises(ValueError, match="no complete, valid JSON"):
            extract_json(text, stats=stats)
        assert stats.scanned + stats.decoded <= 25 * len(text), shape
