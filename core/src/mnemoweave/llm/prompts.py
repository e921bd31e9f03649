"""The prompts mnemoweave sends to the LLM, in one place so they can be read, tested and overridden.

``EXTRACTION_SYSTEM`` asks for one JSON object of memory operations (extract and reconcile in
one call); ``config.custom_instructions`` is appended to it, ``config.extraction_prompt``
replaces it, and ``add(..., prompt=...)`` replaces it for one call. ``PROCEDURAL_SYSTEM``
summarises an agent's run into one memory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

OPERATIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "operations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "op": {"type": "string", "enum": ["ADD", "UPDATE", "DELETE", "NONE"]},
                    "id": {"type": ["integer", "null"]},
                    "text": {"type": ["string", "null"]},
                },
                "required": ["op", "id", "text"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["operations"],
    "additionalProperties": False,
}

EXTRACTION_SYSTEM = """\
You keep the long-term memory of an assistant. You read the newest messages of a \
conversation together with what is already remembered, and you decide which durable facts \
to remember, change or drop. Reply with one JSON object and nothing else.

What is worth remembering: stable facts about the user and the people, places, plans, \
preferences, relationships, health, work and possessions they mention; decisions and \
commitments; dates of events. Skip greetings, small talk, questions that reveal nothing, \
the assistant's own suggestions (unless the user accepts them), and anything only true for \
this moment of the conversation.

How to write a fact:
- One short, self-contained sentence per fact, in the same language the user wrote in. \
Never translate.
- Write about the user in the third person without a name ("Lives in Berlin"), and name \
other people as the messages do.
- Resolve relative dates ("yesterday", "next month", "in two weeks") into absolute dates \
using the observation time given below, and write the absolute date into the fact.
- Keep exact values (numbers, names, amounts, dates) exactly as stated.

The existing memories are listed with short integer ids. For each fact, choose one operation:
- ADD {"op": "ADD", "id": null, "text": ...}: a new fact that no existing memory covers.
- UPDATE {"op": "UPDATE", "id": <existing id>, "text": ...}: the fact refines or replaces an \
existing memory about the same thing (a new address, a changed preference, more detail). \
The text is the complete new version.
- DELETE {"op": "DELETE", "id": <existing id>, "text": null}: the messages say an existing \
memory is no longer true and there is no new value to put in its place.
- NONE {"op": "NONE", "id": <existing id>, "text": null}: the messages repeat something \
already remembered; nothing changes.
Only use ids from the list. Do not list existing memories the messages do not touch. If \
nothing is worth remembering, reply {"operations": []}.

Reply format: {"operations": [{"op": "...", "id": <int or null>, "text": <string or null>}]}

Examples.

Existing memories: (none)
Messages:
user: Hi! I'm a nurse in Lyon and I have two cats.
Reply: {"operations": [{"op": "ADD", "id": null, "text": "Works as a nurse in Lyon"}, \
{"op": "ADD", "id": null, "text": "Has two cats"}]}

Existing memories:
0: Lives in Paris
1: Likes running
Messages:
user: I moved from Paris to Berlin last week.
Reply: {"operations": [{"op": "UPDATE", "id": 0, "text": "Lives in Berlin (moved from Paris \
in the week before 2025-03-14)"}]}

Existing memories:
0: Is vegetarian
1: Has a dog named Bruno
Messages:
user: I eat meat again these days. Bruno says hi!
Reply: {"operations": [{"op": "DELETE", "id": 0, "text": null}, {"op": "NONE", "id": 1, \
"text": null}]}

Existing memories:
0: Has a dog named Bruno
Messages:
user: What's the weather like tomorrow?
Reply: {"operations": []}

Existing memories: (none)
Messages:
user: Ich heiße Lena und spiele seit zehn Jahren Cello.
Reply: {"operations": [{"op": "ADD", "id": null, "text": "Heißt Lena"}, {"op": "ADD", \
"id": null, "text": "Spielt seit zehn Jahren Cello"}]}
"""

PROCEDURAL_SYSTEM = """\
You write the procedural memory of an AI agent: a faithful record of one run that lets the \
agent continue the task later without repeating work. From the messages below, write:
1. Task: the goal of the run in one sentence.
2. Progress: what is done and what is still open.
3. Steps: a numbered list of every action the agent took, each with its exact input and its \
exact result (copy numbers, paths, ids, errors and outputs verbatim; do not summarise them \
away).
4. Next step: what the agent should do next.
Reply with the record as plain text, nothing else.
"""

REPAIR_TEMPLATE = """\
Your reply could not be used: {reason}
Reply again with only the JSON object in the required format: \
{{"operations": [{{"op": "ADD" | "UPDATE" | "DELETE" | "NONE", "id": <int or null>, \
"text": <string or null>}}]}}"""


def extraction_system(custom_instructions: str | None = None, override: str | None = None) -> str:
    """The extraction system prompt, replaced by ``override`` or extended by instructions."""
    base = override if override else EXTRACTION_SYSTEM
    if custom_instructions:
        base = f"{base}\nAdditional instructions from the application:\n{custom_instructions}\n"
    return base


def render_existing(existing: Sequence[str]) -> str:
    if not existing:
        return "(none)"
    return "\n".join(
        f"{i}: {json.dumps(text, ensure_ascii=False)[1:-1]}" for i, text in enumerate(existing)
    )


def render_messages(messages: Sequence[tuple[str, str, str | None]]) -> str:
    """``role (name): content`` lines; content is quoted data, so newlines are escaped."""
    lines = []
    for role, content, name in messages:
        who = f"{role} ({name})" if name else role
        lines.append(f"{who}: {json.dumps(content, ensure_ascii=False)[1:-1]}")
    return "\n".join(lines)


def extraction_user(
    observed_iso: str, existing: Sequence[str], messages: Sequence[tuple[str, str, str | None]]
) -> str:
    """The user turn of the extraction call: observation time, existing memories, messages."""
    return (
        f"Observation time: {observed_iso}\n\n"
        f"Existing memories:\n{render_existing(existing)}\n\n"
        f"Messages:\n{render_messages(messages)}\n\n"
        "Reply with the JSON object of operations."
    )


def procedural_user(messages: Sequence[tuple[str, str, str | None]]) -> str:
    return f"Messages of the run:\n{render_messages(messages)}"
