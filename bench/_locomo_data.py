"""Loading LoCoMo conversations and questions, with evidence ids normalised.

LoCoMo's evidence lists contain quirks (``"D8:6; D9:17"``, ``"D:11:26"``, ``"D30:05"``, a bare
``"D"``); :func:`normalise_evidence` repairs what can be repaired and the loaders count what
cannot be resolved to a turn of the conversation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo_dev.json"
)
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
_ID = re.compile(r"D\s*:?\s*(\d+)\s*:\s*(\d+)")


@dataclass(frozen=True)
class Turn:
    dia_id: str
    speaker: str
    text: str
    date: str

    def plain(self) -> str:
        return f"{self.speaker}: {self.text}"

    def dated(self) -> str:
        return f"[{self.date}] {self.speaker}: {self.text}"


@dataclass
class Question:
    conversation: str
    question: str
    category: int
    evidence: list[str]
    unresolved: int = 0
    answer: str = ""


@dataclass
class Conversation:
    sample_id: str
    turns: list[Turn] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)


def normalise_evidence(raw: str) -> list[str]:
    """Canonical ``D<session>:<turn>`` ids found in one raw evidence entry (maybe several)."""
    return [f"D{int(s)}:{int(t)}" for s, t in _ID.findall(raw)]


def load(path: Path | str = DEFAULT_DATA) -> list[Conversation]:
    """All conversations with their turns (in order) and questions (evidence normalised)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for sample in data:
        conv = sample["conversation"]
        item = Conversation(sample_id=sample["sample_id"])
        n = 1
        while f"session_{n}" in conv:
            date = conv.get(f"session_{n}_date_time", "")
            for turn in conv[f"session_{n}"]:
                item.turns.append(Turn(turn["dia_id"], turn["speaker"], turn["text"], date))
            n += 1
        known = {t.dia_id for t in item.turns}
        for qa in sample["qa"]:
            ids: list[str] = []
            unresolved = 0
            for raw in qa.get("evidence", []):
                found = normalise_evidence(raw)
                if not found:
                    unresolved += 1
                for dia in found:
                    if dia in known:
                        if dia not in ids:
                            ids.append(dia)
                    else:
                        unresolved += 1
            answer = str(qa.get("answer", qa.get("adversarial_answer", "")))
            item.questions.append(
                Question(
                    item.sample_id, qa["question"], int(qa["category"]), ids, unresolved, answer
                )
            )
        out.append(item)
    return out
