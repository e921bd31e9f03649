"""LoCoMo conversations as quality-study scopes, with their embeddings cached on disk.

Each conversation is one scope; each turn one row stored as ``"[session date] speaker: text"``
(bench/locomo.py's dated variant). Embedding variants differ only in what text the model sees
for a row; the stored and keyword-indexed text is always the turn itself:

- ``turn``: the stored text (today's engine);
- ``prev1`` / ``prev2``: the previous one or two rows of the scope, then this row, one per line
  (a context-aware embedding paid for at add time with a longer input);
- ``blend``: ``normalise(v_i + 0.5 * v_{i-1})`` from the ``turn`` vectors (context for free:
  the previous row's vector is already stored, no extra model call).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from bench._locomo_data import Conversation
from bench._quality_levers import Scope
from bench._quality_text import parse_date
from bench._vector_cache import VectorCache

TEXT_VARIANTS = ("turn", "prev1", "prev2")
BLEND = 0.5


def context_texts(texts: Sequence[str], before: int) -> list[str]:
    """Each text preceded by up to ``before`` earlier texts of the same scope, one per line."""
    return ["\n".join(texts[max(0, i - before) : i + 1]) for i in range(len(texts))]


def variant_texts(texts: Sequence[str], variant: str) -> list[str]:
    if variant == "turn":
        return list(texts)
    if variant.startswith("prev"):
        return context_texts(texts, int(variant[4:]))
    raise ValueError(f"unknown embedding variant {variant!r}")


def blend(vectors: np.ndarray, weight: float = BLEND) -> np.ndarray:
    """Each row plus ``weight`` times the previous row's vector, re-normalised."""
    out = vectors.copy()
    out[1:] += weight * vectors[:-1]
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def build_scopes(
    conversations: Sequence[Conversation],
    cache: VectorCache,
    embed: Callable[[list[str]], np.ndarray],
    variants: Sequence[str] = TEXT_VARIANTS,
) -> tuple[dict[str, Scope], int]:
    """One scope per conversation with every embedding variant, and how many texts were embedded."""
    scopes: dict[str, Scope] = {}
    embedded = 0
    for conv in conversations:
        texts = [t.dated() for t in conv.turns]
        vectors: dict[str, np.ndarray] = {}
        for variant in variants:
            vectors[variant], missed = cache.get(variant_texts(texts, variant), embed)
            embedded += missed
        if "turn" in vectors:
            vectors["blend"] = blend(vectors["turn"])
        scopes[conv.sample_id] = Scope.build(
            ids=[t.dia_id for t in conv.turns],
            texts=texts,
            contents=[t.text for t in conv.turns],
            observed=[parse_date(t.date) for t in conv.turns],
            vectors=vectors,
        )
    return scopes, embedded


def question_vectors(
    conversations: Sequence[Conversation],
    cache: VectorCache,
    embed: Callable[[list[str]], np.ndarray],
) -> tuple[dict[str, np.ndarray], int]:
    """Each question's vector, keyed by its text (as bench/locomo.py's ``evaluate`` expects)."""
    questions = list(dict.fromkeys(q.question for c in conversations for q in c.questions))
    vectors, missed = cache.get(questions, embed)
    return dict(zip(questions, vectors)), missed
