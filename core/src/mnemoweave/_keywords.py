"""Keyword relevance: a small multilingual tokenizer, hashed term ids, and scoped BM25.

Each memory stores its terms as a blob of 64-bit hashes next to its text, so keyword scoring
runs over exactly the rows of one scope (IDF and document lengths come from that scope too),
and erasing a memory erases its terms with it.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

import numpy as np

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Scripts written without spaces between words: indexed as character unigrams and bigrams.
_UNSPACED = re.compile(
    r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]+"
)

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    """.split()
)


def _stem(word: str) -> str:
    """Strip English plural endings (a conservative "S" stemmer); other words pass through."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def _normalise(text: str) -> str:
    if text.isascii():
        return text.lower()  # NFKC and casefold do nothing more for ASCII
    return unicodedata.normalize("NFKC", text).casefold()


def _word_terms(word: str) -> list[str]:
    """The terms of one normalised word: itself (stemmed), grams, or nothing (stopword)."""
    if not word.isascii() and _UNSPACED.search(word):
        terms: list[str] = []
        last = 0
        for run in _UNSPACED.finditer(word):
            if run.start() > last:
                terms.append(_stem(word[last : run.start()]))
            chars = run.group()
            terms.extend(chars)
            terms.extend(chars[i : i + 2] for i in range(len(chars) - 1))
            last = run.end()
        if last < len(word):
            terms.append(_stem(word[last:]))
        return terms
    if word in STOPWORDS or (len(word) == 1 and word.isascii() and word.isalpha()):
        return []
    return [_stem(word)]


def tokenize(text: str) -> list[str]:
    """Split text into normalised keyword terms (casefolded, NFKC, stopwords dropped)."""
    return [term for word in _WORD.findall(_normalise(text)) for term in _word_terms(word)]


def _term_bytes(term: str) -> bytes:
    """A term's id: the first 8 bytes of its BLAKE2b digest (read as little-endian int64)."""
    return hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest()


# word -> the bytes of its term ids (b"" for a stopword); natural text reuses few words, so
# this turns indexing into dictionary lookups and one bytes join.
_WORD_BLOBS: dict[str, bytes] = {}
_WORD_BLOBS_MAX = 500_000


def _word_blob(word: str) -> bytes:
    blob = b"".join(_term_bytes(t) for t in _word_terms(word))
    if len(_WORD_BLOBS) >= _WORD_BLOBS_MAX:
        _WORD_BLOBS.clear()
    _WORD_BLOBS[word] = blob
    return blob


def terms_blob(text: str) -> bytes:
    """What a memory row stores for keyword search: its term ids (with repeats) as int64 bytes."""
    words = _WORD.findall(_normalise(text))
    cache = _WORD_BLOBS
    try:
        return b"".join([cache[w] for w in words])
    except KeyError:
        return b"".join([cache[w] if w in cache else _word_blob(w) for w in words])


def term_ids(text: str) -> np.ndarray:
    """The hashed terms of ``text`` (with repeats, so term frequency is kept) as int64."""
    return np.frombuffer(terms_blob(text), dtype="<i8")


def query_terms(text: str) -> np.ndarray:
    """Unique, sorted term ids of a query."""
    return np.array(sorted(set(term_ids(text).tolist())), dtype=np.int64)


def bm25(blobs: list[bytes], query: np.ndarray, *, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """BM25 of each document (a terms blob) for the query terms, with statistics of these documents.

    ``query`` must be unique and sorted (see :func:`query_terms`). Documents without any query
    term score 0.
    """
    n = len(blobs)
    scores = np.zeros(n, dtype=np.float64)
    if n == 0 or query.size == 0:
        return scores
    flat = np.frombuffer(b"".join(blobs), dtype=np.int64)
    # Which query term (if any) each document term is: one binary search per term.
    slot = np.searchsorted(query, flat)
    slot[slot == query.size] = 0
    hit = np.flatnonzero(query[slot] == flat)
    if hit.size == 0:
        return scores
    ends = list(accumulate(len(blob) >> 3 for blob in blobs))
    if hit.size > _FEW_HITS:
        return _bm25_dense(np.asarray(ends), hit, slot[hit], n, query.size, k1, b)
    # Few matches (the usual case): a short Python loop beats a dozen tiny numpy calls.
    counts: dict[tuple[int, int], int] = {}
    for pos, term in zip(hit.tolist(), slot[hit].tolist()):
        key = (bisect_right(ends, pos), term)
        counts[key] = counts.get(key, 0) + 1
    df = [0] * query.size
    for _, term in counts:
        df[term] += 1
    idf = [math.log1p((n - d + 0.5) / (d + 0.5)) for d in df]
    avgdl = ends[-1] / n or 1.0
    for (doc, term), tf in counts.items():
        length = ends[doc] - (ends[doc - 1] if doc else 0)
        norm = k1 * (1.0 - b + b * length / avgdl)
        scores[doc] += idf[term] * tf * (k1 + 1.0) / (tf + norm)
    return scores


_FEW_HITS = 256


def _bm25_dense(
    ends: np.ndarray, hit: np.ndarray, term: np.ndarray, n: int, q: int, k1: float, b: float
) -> np.ndarray:
    """The same BM25 with numpy throughout, for scopes with many matching terms."""
    lengths = np.diff(ends, prepend=0)
    doc = np.searchsorted(ends, hit, side="right")
    tf = np.bincount(doc * q + term, minlength=n * q).reshape(n, q)
    df = np.count_nonzero(tf, axis=0)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    norm = k1 * (1.0 - b + b * lengths / (lengths.mean() or 1.0))
    return (tf * ((k1 + 1.0) * idf) / (tf + norm[:, None])).sum(axis=1)


class TermIndex:
    """Each memory's keyword terms in memory, addressed by row id (like the vector index).

    Derived from SQLite's ``terms`` column and kept in step with it by the store, so a search
    reads a scope's terms without touching the table rows.
    """

    def __init__(self) -> None:
        self._terms: list[bytes] = []

    def __len__(self) -> int:
        return len(self._terms)

    def grow(self, size: int) -> None:
        missing = size - len(self._terms)
        if missing > 0:
            self._terms.extend([b""] * missing)

    def put(self, rids: Sequence[int], blobs: Sequence[bytes]) -> None:
        if not len(rids):
            return
        self.grow(int(max(rids)) + 1)
        terms = self._terms
        for rid, blob in zip(rids, blobs):
            terms[int(rid)] = blob

    def clear(self, rids: Sequence[int]) -> None:
        terms = self._terms
        for rid in rids:
            if 0 <= int(rid) < len(terms):
                terms[int(rid)] = b""

    def get(self, rids: Sequence[int]) -> list[bytes]:
        terms = self._terms
        return [terms[int(r)] for r in rids]
