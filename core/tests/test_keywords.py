"""The keyword side of hybrid search: tokenizer and scoped BM25."""

from __future__ import annotations

import numpy as np

from mnemoweave import Memory
from mnemoweave._keywords import bm25, query_terms, terms_blob, tokenize


def test_tokenize_normalises_and_drops_stopwords() -> None:
    terms = tokenize("The CATS are hiking in Alpine valleys!")
    assert terms == ["cat", "hiking", "alpine", "valley"]
    assert tokenize("Straße") == ["strasse"]  # casefold
    assert tokenize("ｆｕｌｌｗｉｄｔｈ") == ["fullwidth"]  # NFKC


def test_tokenize_splits_unspaced_scripts_into_grams() -> None:
    assert tokenize("北京大学") == ["北", "京", "大", "学", "北京", "京大", "大学"]
    assert "東京" in tokenize("私は東京に住んでいます")


def test_bm25_prefers_rare_terms_and_ignores_misses() -> None:
    docs = [terms_blob(t) for t in ("apple pie recipe", "apple apple", "zucchini soup", "pie")]
    scores = bm25(docs, query_terms("zucchini pie"))
    assert scores[2] > scores[0] > 0
    assert scores[1] == 0
    assert np.all(bm25(docs, query_terms("nothing matches")) == 0)
    assert bm25([], query_terms("x")).shape == (0,)


def test_keyword_search_finds_exact_rare_words(mem: Memory) -> None:
    mem.add("Flight confirmation code is QX7Z9", user_id="u")
    for i in range(30):
        mem.add(f"Chatted about the weather on day {i}", user_id="u")
    res = mem.search("QX7Z9", user_id="u", explain=True)
    assert res.results[0].memory == "Flight confirmation code is QX7Z9"
    assert res.results[0].explain is not None
    assert res.results[0].explain["keyword"] > 0
    assert all(r.explain["keyword"] == 0 for r in res.results[1:])


def test_chinese_memory_is_found_by_keyword(mem: Memory) -> None:
    mem.add("我住在北京", user_id="u")
    mem.add("I live in Paris", user_id="u")
    assert mem.search("北京", user_id="u").results[0].memory == "我住在北京"


def reference_bm25(
    docs: list[list[str]], query: list[str], k1: float = 1.2, b: float = 0.75
) -> list[float]:
    """Textbook BM25 (Lucene IDF), written independently for comparison."""
    import math

    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    out = []
    for doc in docs:
        score = 0.0
        for term in set(query):
            tf = doc.count(term)
            if not tf:
                continue
            df = sum(1 for d in docs if term in d)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avgdl))
        out.append(score)
    return out


def test_bm25_matches_the_textbook_formula_on_small_and_large_scopes() -> None:
    rng = np.random.default_rng(11)
    vocab = [f"word{i}" for i in range(40)]
    for n_docs in (7, 2000):  # the second one takes the many-matches path
        docs = [list(rng.choice(vocab, int(rng.integers(0, 15)))) for _ in range(n_docs)]
        query = ["word1", "word2", "word3"]
        got = bm25([terms_blob(" ".join(d)) for d in docs], query_terms(" ".join(query)))
        assert np.allclose(got, reference_bm25(docs, query))
