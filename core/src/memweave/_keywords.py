"""Keyword relevance: a small multilingual tokenizer, hashed term ids, and scoped BM25.

Each memory stores its terms as a blob of 64-bit hashes next to its text, so keyword scoring
runs over exactly the rows of one scope (IDF and document lengths come from that scope too),
and erasing a memory erases its terms with it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

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
    return np.unique(term_ids(text))


def bm25(blobs: list[bytes], query: np.ndarray, *, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """BM25 of each document (a terms blob) for the query terms, with statistics of these documents.

    ``query`` must be unique and sorted (see :func:`query_terms`). Documents without any query
    term score 0.
    """
    n = len(blobs)
    scores = np.zeros(n, dtype=np.float64)
    if n == 0 or query.size == 0:
        return scores
    lengths = np.fromiter((len(blob) >> 3 for blob in blobs), dtype=np.int64, count=n)
    flat = np.frombuffer(b"".join(blobs), dtype=np.int64)
    match = flat[:, None] == query[None, :]
    if not match.any():
        return scores
    # Term frequencies per document from a running count over the concatenated documents.
    running = np.zeros((flat.size + 1, query.size), dtype=np.int32)
    np.cumsum(match, axis=0, out=running[1:])
    ends = np.cumsum(lengths)
    tf = (running[ends] - running[ends - lengths]).astype(np.float64)
    df = np.count_nonzero(tf, axis=0)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    avgdl = lengths.mean() or 1.0
    norm = k1 * (1.0 - b + b * lengths / avgdl)
    return (idf * (tf * (k1 + 1.0)) / (tf + norm[:, None])).sum(axis=1)
