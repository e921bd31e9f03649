"""The raw-storage policy: what an adapter remembers verbatim when no LLM extracts facts.

With an LLM, mnemoweave's pipeline decides what is worth a memory. Without one, every turn an
adapter captures on its own (a finished agent run, a conversation turn, a CrewAI task result)
would become a memory as it is: greetings, "Noted.", bare questions, ReAct scaffolding. One
rule for every adapter, :class:`RawPolicy`, picks what is stored instead:

* only messages whose role is in ``roles`` (default: the user's; what the assistant said is
  rarely a fact about the user);
* a message carrying an image or a document is always kept (the part is the content);
* not small talk: a message made only of greeting / thanks / acknowledgement words
  (:data:`SMALL_TALK`, a few languages);
* not shorter than ``min_chars`` letters and digits (CJK characters count three each);
* not a bare question: when every sentence ends in ``?`` and none states something in the
  first person ("my", "I'm", "I have", ...);
* agent output is reduced to its final answer first (:func:`final_answer`), so
  ``Thought:`` / ``Action:`` lines never become memories.

Messages the policy skips still reach the scope's message window (chat history), in order.
Explicit saves (memory tools, ``Memory.add``) are never filtered. ``RawPolicy.keep_all()``
turns the filter off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mnemoweave.errors import ValidationError

STORABLE_ROLES = frozenset({"user", "assistant", "tool"})

#: Words that carry no fact on their own (a message of only these is small talk).
SMALL_TALK = frozenset(
    """
    hi hello hey hiya yo howdy greetings morning afternoon evening night good day
    thanks thank thx ty cheers you much very so lot a many
    ok okay k kk okey alright fine sure yes yeah yep yup no nope nah
    noted understood got it will do great cool nice awesome perfect excellent wonderful
    bye goodbye later see soon take care please sounds right
    hola gracias merci bonjour salut danke hallo ciao grazie obrigado ola
    你好 您好 谢谢 谢谢你 好的 好 嗯 再见 こんにちは ありがとう ありがとうございます はい
    了解 안녕하세요 감사합니다 네
    """.split()
)

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")
_FIRST_PERSON_WORDS = frozenset(
    {"my", "mine", "our", "ours", "i'm", "i've", "i'd", "we're", "we've", "im"}
)
_FIRST_PERSON = re.compile(
    r"\b(?:i|we)\s+(?:am|are|was|were|have|had|live|lived|work|worked|like|love|hate|"
    r"prefer|need|want|own|use|study|moved|go|speak)\b",
    re.IGNORECASE,
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_SCAFFOLD = re.compile(
    r"^\s*(?:thought|action|action input|observation)\s*:", re.IGNORECASE | re.MULTILINE
)
_FINAL = re.compile(r"final answer\s*:", re.IGNORECASE)
_RESULT = re.compile(r"^Result:[ \t]*", re.MULTILINE)


def final_answer(text: str) -> str:
    """Agent output reduced to its answer: after the last ``Final Answer:`` if there is one,
    else without ``Thought:`` / ``Action:`` / ``Action Input:`` / ``Observation:`` lines."""
    found = list(_FINAL.finditer(text))
    if found:
        return text[found[-1].end() :].strip()
    kept = [line for line in text.splitlines() if not _SCAFFOLD.match(line)]
    return "\n".join(kept).strip()


def task_result(raw: str) -> str:
    """The final answer of a CrewAI ``Task: ... Agent: ... Result: ...`` memory text.

    CrewAI hands memory ``"Task: <description>\\nAgent: <role>\\nExpected result: ...\\n
    Result: <output>"``; only the answer in the output is a fact worth keeping verbatim.
    Text in any other shape is reduced with :func:`final_answer` alone.
    """
    matches = list(_RESULT.finditer(raw))
    body = (
        raw[matches[-1].end() :]
        if matches and raw.lstrip().startswith(("Task:", "Input:"))
        else raw
    )
    return final_answer(body)


def _letters(text: str) -> int:
    cjk = len(_CJK.findall(text))
    return sum(ch.isalnum() for ch in text) + 2 * cjk


def _small_talk(text: str) -> bool:
    words = [w.casefold() for w in _WORD.findall(text)]
    return bool(words) and all(w in SMALL_TALK for w in words)


def _states_something(sentence: str) -> bool:
    words = {w.casefold() for w in _WORD.findall(sentence)}
    return bool(words & _FIRST_PERSON_WORDS) or _FIRST_PERSON.search(sentence) is not None


def _bare_question(text: str) -> bool:
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if s.strip()]
    if not sentences or not all(s.rstrip().endswith(("?", "？")) for s in sentences):
        return False
    return not any(_states_something(s) for s in sentences)


def _carries_media(content: Any) -> bool:
    """Whether message content (OpenAI parts) holds an image or a document part."""
    return isinstance(content, list) and any(
        isinstance(part, Mapping) and part.get("type") not in (None, "text") for part in content
    )


@dataclass(frozen=True)
class RawPolicy:
    """Which automatically captured messages become verbatim memories (see the module doc)."""

    roles: frozenset[str] = field(default_factory=lambda: frozenset({"user"}))
    min_chars: int = 6
    skip_small_talk: bool = True
    skip_questions: bool = True
    reduce_agent_output: bool = True

    def __post_init__(self) -> None:
        roles = frozenset([self.roles] if isinstance(self.roles, str) else self.roles)
        if not roles <= STORABLE_ROLES:
            raise ValidationError(
                f"RawPolicy roles must be a subset of {sorted(STORABLE_ROLES)}, got {self.roles!r}"
            )
        object.__setattr__(self, "roles", roles)
        if isinstance(self.min_chars, bool) or not isinstance(self.min_chars, int):
            raise ValidationError(f"min_chars must be an int >= 0, got {self.min_chars!r}")
        if self.min_chars < 0:
            raise ValidationError(f"min_chars must be an int >= 0, got {self.min_chars!r}")

    @classmethod
    def keep_all(cls) -> RawPolicy:
        """No filtering: every user, assistant and tool message is stored as it is."""
        return cls(
            roles=STORABLE_ROLES,
            min_chars=0,
            skip_small_talk=False,
            skip_questions=False,
            reduce_agent_output=False,
        )

    def why_skipped(self, message: Mapping[str, Any]) -> str | None:
        """The reason ``message`` (``{"role", "content"}``) is not stored, or ``None``."""
        role = message.get("role")
        if role not in self.roles:
            return f"role {role!r} is not stored"
        content = message.get("content")
        if _carries_media(content):
            return None  # an image or document the user shared is content, not small talk
        return self.why_text_skipped(content)

    def why_text_skipped(self, text: Any) -> str | None:
        """The content checks alone (for text with no role, such as a CrewAI task result)."""
        if not isinstance(text, str) or not text.strip():
            return "no text"
        if self.skip_small_talk and _small_talk(text):
            return "small talk"
        if _letters(text) < self.min_chars:
            return f"shorter than {self.min_chars} letters"
        if self.skip_questions and _bare_question(text):
            return "a question that states nothing"
        return None

    def keeps(self, message: Mapping[str, Any]) -> bool:
        return self.why_skipped(message) is None

    def prepare(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """``message`` as it would be stored (agent output reduced to its final answer)."""
        out = dict(message)
        text = out.get("content")
        if self.reduce_agent_output and out.get("role") == "assistant" and isinstance(text, str):
            out["content"] = final_answer(text) or text
        return out

    def runs(
        self, messages: Iterable[Mapping[str, Any]]
    ) -> list[tuple[bool, list[dict[str, Any]]]]:
        """Consecutive ``(stored?, messages)`` runs of a turn, in order.

        Stored messages come as :meth:`prepare` makes them; skipped ones unchanged (they
        only go to the message window).
        """
        out: list[tuple[bool, list[dict[str, Any]]]] = []
        for message in messages:
            prepared = self.prepare(message)
            stored = self.keeps(prepared)
            item = prepared if stored else dict(message)
            if out and out[-1][0] == stored:
                out[-1][1].append(item)
            else:
                out.append((stored, [item]))
        return out


DEFAULT_RAW_POLICY = RawPolicy()
