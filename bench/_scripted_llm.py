"""The scripted "model" behind the llm_cost study: the same facts for every system.

For each add (a pair of LoCoMo turns) the model "extracts" one fact per substantive turn: the
turn's first sentence, attributed to its speaker. Each system gets those facts in its own
reply schema, so token counts differ only by what each system sends and asks for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_SENTENCE = re.compile(r"(.+?[.!?])(\s|$)")


def facts_for(turns: Sequence[tuple[str, str]]) -> list[str]:
    """One fact per turn with at least four words: ``"<speaker>: <first sentence>"``."""
    out = []
    for speaker, text in turns:
        text = " ".join(text.split())
        if len(text.split()) < 4:
            continue
        match = _SENTENCE.match(text)
        sentence = (match.group(1) if match else text)[:160]
        out.append(f"{speaker}: {sentence}")
    return out


def mnemoweave_reply(facts: Sequence[str], existing: Sequence[str]) -> dict[str, Any]:
    """mnemoweave's schema: ADD new facts, NONE for facts it was shown already."""
    ops: list[dict[str, Any]] = []
    for fact in facts:
        if fact in existing:
            ops.append({"op": "NONE", "id": existing.index(fact), "text": None})
        else:
            ops.append({"op": "ADD", "id": None, "text": fact})
    return {"operations": ops}


def parse_mnemoweave_request(
    messages: Sequence[dict[str, Any]],
) -> tuple[list[tuple[str, str]], list[str]]:
    """The (speaker, text) turns and the existing memories in mnemoweave's extraction prompt."""
    from mnemoweave.llm import prompts

    sent = prompts.input_data(messages[-1]["content"])
    existing = [m["text"] for m in sent["existing_memories"]]
    turns = [(m.get("name") or m["role"], m["content"]) for m in sent["messages"]]
    return turns, existing


def _section(text: str, title: str) -> str:
    part = text.split(f"## {title}\n", 1)[1]
    return part.split("\n\n## ", 1)[0].split("\n\n# Output:", 1)[0]


def mem0_handler_for(first_speaker: str, second_speaker: str) -> Any:
    """A chat handler speaking mem0 2.0.18's additive-extraction schema with the same facts.

    mem0's transcript lines are ``"<role>: <content>"``; the first speaker of the pair is sent
    as ``user`` and the second as ``assistant``, as the study sends them.
    """
    import json

    names = {"user": first_speaker, "assistant": second_speaker}

    def handler(request: Any) -> dict[str, Any]:
        user = request.messages[-1]["content"]
        existing = {m.get("text") for m in json.loads(_section(user, "Existing Memories") or "[]")}
        turns = []
        for line in _section(user, "New Messages").splitlines():
            role, _, content = line.partition(": ")
            if role in names:
                turns.append((names[role], content))
        facts = [f for f in facts_for(turns) if f not in existing]
        role_of = {f"{name}:": role for role, name in names.items()}
        return {
            "memory": [
                {"id": str(i), "text": fact, "attributed_to": role_of[fact.split(" ", 1)[0]]}
                for i, fact in enumerate(facts)
            ]
        }

    return handler
