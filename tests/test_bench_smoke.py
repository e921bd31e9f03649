"""Each benchmark study's quick path runs end to end on tiny inputs (mnemoweave only).

These are smoke tests, not measurements: they check that every study runs, prints its table and
writes its figures; they never assert on timings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tiny_locomo(path: Path) -> Path:
    """A two-session LoCoMo-format conversation with questions of every category."""
    turns_1 = [
        ("Ana", "I adopted a grey cat called Pixel last weekend!"),
        ("Ben", "Congrats! How is Pixel settling in?"),
        ("Ana", "She sleeps on my keyboard all day. I work from home as a translator."),
        ("Ben", "I'm training for the Lisbon marathon in October."),
    ]
    turns_2 = [
        ("Ana", "I started learning the violin, lessons every Tuesday."),
        ("Ben", "I finished the marathon in four hours and ten minutes."),
        ("Ana", "Pixel knocked my violin off the table, luckily it survived."),
        ("Ben", "My sister Carla moved to Porto for a job at a bakery."),
    ]

    def session(turns: list[tuple[str, str]], n: int) -> list[dict[str, str]]:
        return [
            {"speaker": s, "dia_id": f"D{n}:{i + 1}", "text": t} for i, (s, t) in enumerate(turns)
        ]

    data = [
        {
            "sample_id": "conv-tiny",
            "conversation": {
                "speaker_a": "Ana",
                "speaker_b": "Ben",
                "session_1_date_time": "1:56 pm on 8 May, 2023",
                "session_1": session(turns_1, 1),
                "session_2_date_time": "10:04 am on 20 October, 2023",
                "session_2": session(turns_2, 2),
            },
            "qa": [
                {
                    "question": "What is the name of Ana's cat?",
                    "answer": "Pixel",
                    "evidence": ["D1:1"],
                    "category": 4,
                },
                {
                    "question": "When did Ben run the marathon?",
                    "answer": "October 2023",
                    "evidence": ["D1:4; D2:2"],
                    "category": 2,
                },
                {
                    "question": "What instrument does Ana play and what did her cat do to it?",
                    "answer": "violin; knocked it off the table",
                    "evidence": ["D2:1", "D:2:3"],
                    "category": 1,
                },
                {
                    "question": "Where does Ben's sister work?",
                    "answer": "a bakery in Porto",
                    "evidence": ["D2:4"],
                    "category": 3,
                },
                {
                    "question": "What is Ana's brother's name?",
                    "adversarial_answer": "unknown",
                    "evidence": ["D"],
                    "category": 5,
                },
            ],
        }
    ]
    path.write_text(json.dumps(data))
    return path


def run_bench(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    results = tmp_path / "results"
    full_env = {
        **os.environ,
        "BENCH_RESULTS_DIR": str(results),
        "MNEMOWEAVE_HOME": str(tmp_path / "home"),
        **(env or {}),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def figures(tmp_path: Path, name: str) -> dict[str, Any]:
    """The study's JSON figures (its markdown table and PNG chart must exist too)."""
    folder = tmp_path / "results"
    assert (folder / f"{name}.md").read_text().startswith("## ")
    assert (folder / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return json.loads((folder / f"{name}.json").read_text())


@pytest.mark.slow
def test_scale_quick(tmp_path: Path) -> None:
    out = run_bench(tmp_path, "scale", "--quick", "--sizes", "600:12", "--queries", "20")
    assert "| 600 / 12 |" in out
    found = figures(tmp_path, "scale-quick")["systems"]["mnemoweave"]["by_category"]["600/12"]
    assert found["recall_at_10"] == 1.0
    assert found["bulk_records_per_s"] > 0


@pytest.mark.slow
def test_scale_on_postgres(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from mnemoweave.testing import shared_postgres_url

    url = shared_postgres_url(request.config)
    out = run_bench(
        tmp_path, "scale", "--quick", "--sizes", "600:12", "--queries", "20", "--postgres", url
    )
    assert "| 600 / 12 | mnemoweave (PostgreSQL) |" in out
    assert "PostgreSQL backend vs SQLite backend" in out
    systems = figures(tmp_path, "scale-quick")["systems"]
    pg, lite = systems["postgres"]["by_category"]["600/12"], systems["mnemoweave"]["by_category"]
    assert pg["recall_at_10"] == 1.0  # exact scoped search, like SQLite
    assert pg["results_per_query"] == lite["600/12"]["results_per_query"]
    assert pg["bulk_records_per_s"] > 0


@pytest.mark.slow
def test_pg_async_quick(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from mnemoweave.testing import shared_postgres_url

    url = shared_postgres_url(request.config)
    out = run_bench(
        tmp_path, "pg_async", "--quick", "--postgres", url, "--searches", "60", "--levels", "1,8"
    )
    assert "Async pool vs threads (same run)" in out
    found = figures(tmp_path, "pg_async-quick")["systems"]
    for mode in ("async pool", "threads"):
        assert set(found[mode]["by_category"]) == {"1", "8"}
        assert all(f["searches_per_s"] > 0 for f in found[mode]["by_category"].values())


@pytest.mark.slow
def test_locomo_quick(tmp_path: Path) -> None:
    data = tiny_locomo(tmp_path / "tiny.json")
    out = run_bench(
        tmp_path,
        "locomo",
        "--quick",
        "--data",
        str(data),
        "--systems",
        "mnemoweave,mnemoweave-dense",
    )
    assert "Unresolvable evidence ids: 1" in out
    result = figures(tmp_path, "locomo-quick")["systems"]["mnemoweave (dated)"]
    assert result["overall"]["n"] == 4  # categories 1-4 with evidence
    assert set(result["by_category"]) == {
        "multi-hop",
        "temporal",
        "open-domain",
        "single-hop",
        "adversarial",
    } - {"adversarial"}
    assert 0.0 <= result["overall"]["any@10"] <= 1.0
    assert result["overall"]["any@20"] == 1.0  # 8 turns: everything is in the top 20


@pytest.mark.slow
def test_locomo_quick_context_ranking(tmp_path: Path) -> None:
    data = tiny_locomo(tmp_path / "tiny.json")
    out = run_bench(
        tmp_path, "locomo", "--quick", "--data", str(data), "--systems", "mnemoweave",
        "--variants", "dated", "--ranking", "context",
    )  # fmt: skip
    assert "| mnemoweave context − standard (dated) |" in out
    systems = figures(tmp_path, "locomo-quick")["systems"]
    assert set(systems) == {"mnemoweave (dated)", "mnemoweave [context] (dated)"}
    for result in systems.values():
        assert result["overall"]["n"] == 4
        assert result["overall"]["any@20"] == 1.0


@pytest.mark.slow
def test_llm_cost_quick(tmp_path: Path) -> None:
    data = tiny_locomo(tmp_path / "tiny.json")
    out = run_bench(tmp_path, "llm_cost", "--quick", "--data", str(data), "--systems", "mnemoweave")
    assert "| mnemoweave | 4 |" in out
    stats = figures(tmp_path, "llm_cost-quick")["systems"]["mnemoweave"]["overall"]
    assert stats["calls_total"] == 4  # exactly one LLM call per add
    assert stats["prompt_tokens_total"] > 0
    assert stats["memories"] > 0


@pytest.mark.slow
def test_concurrency_quick(tmp_path: Path) -> None:
    run_bench(tmp_path, "concurrency", "--quick", "--systems", "mnemoweave")
    overall = figures(tmp_path, "concurrency-quick")["systems"]["mnemoweave"]["overall"]
    assert overall == {"errors": 0, "lost": 0}


@pytest.mark.slow
def test_llm_judged_qa_harness_against_the_scripted_server(tmp_path: Path) -> None:
    from mnemoweave.testing import RecordedRequest, ScriptedOpenAIServer

    data = tiny_locomo(tmp_path / "tiny.json")
    gold = {"What is the name of Ana's cat?": "Pixel"}

    def model(request: RecordedRequest) -> str:
        system = request.messages[0]["content"]
        user = request.messages[-1]["content"]
        if system.startswith("You grade"):
            candidate = user.split("Candidate answer: ", 1)[1]
            expected = user.split("Gold answer: ", 1)[1].split("\n", 1)[0]
            return json.dumps({"label": "CORRECT" if candidate == expected else "WRONG"})
        question = user.split("Question: ", 1)[1]
        assert "Memories:" in user
        return gold.get(question, "not mentioned")

    with ScriptedOpenAIServer(handler=model) as server:
        run_bench(
            tmp_path,
            "llm_cost",
            "--qa",
            "--raw",
            "--data",
            str(data),
            "--llm-base-url",
            server.base_url,
            "--model",
            "scripted-model",
        )
    result = figures(tmp_path, "llm_qa")["systems"]["mnemoweave"]
    assert result["overall"]["n"] == 4
    assert result["by_category"]["single-hop"]["j_score"] == 1.0
    assert result["overall"]["j_score"] == pytest.approx(0.25)


@pytest.mark.slow
def test_embed_quick(tmp_path: Path) -> None:
    data = tiny_locomo(tmp_path / "tiny.json")
    out = run_bench(
        tmp_path, "embed", "--quick", "--no-reference", "--data", str(data), "--turns", "8"
    )
    assert "| mnemoweave (numpy) | 1 |" in out
    row = figures(tmp_path, "embed-quick")["systems"]["mnemoweave (1 threads)"]["overall"]
    assert row["sentences_per_s"] > 0
    assert row["load_s"] > 0


@pytest.mark.slow
def test_server_quick(tmp_path: Path) -> None:
    out = run_bench(tmp_path, "server", "--quick", "--clients", "1,2", "--seconds", "0.5")
    assert "| search | 2 | 1 worker |" in out
    assert "| add | 1 | in-process |" in out
    found = figures(tmp_path, "server-quick")
    assert found["errors"] == 0
    cells = {(c["op"], c["clients"], c["workers"]): c for c in found["cells"]}
    assert set(cells) == {(op, k, w) for op in ("search", "add") for k in (1, 2) for w in (0, 1)}
    assert all(c["requests"] > 0 for c in cells.values())
    assert all(c["p50_ratio"] > 0 for (_, _, w), c in cells.items() if w)


@pytest.mark.slow
def test_quality_quick(tmp_path: Path) -> None:
    data = tiny_locomo(tmp_path / "tiny.json")
    cache = tmp_path / "cache"
    out = run_bench(
        tmp_path, "quality", "--quick", "--data", str(data), env={"BENCH_CACHE_DIR": str(cache)}
    )
    assert "returned the same top 20 as the baseline for 5 of 5 questions" in out
    found = figures(tmp_path, "quality-quick")
    configs = found["configs"]
    base = configs["baseline (today's engine)"]["dev"]["overall"]
    assert base["n"] == 4  # categories 1-4 with evidence
    # 8 rows: every evidence turn is among a perfect reranker's top 50, hence first.
    oracle = configs["oracle over recommended top 50"]["dev"]["overall"]
    assert oracle["any@1"] == 1.0
    assert oracle["all@10"] == 1.0
    assert {"base", "alone", "best", "without", "plus", "alt", "oracle"} == {
        c["group"] for c in configs.values()
    }
    calibration = found["calibration"]
    assert calibration["today (sum)"]["cos_0.8_no_keyword"] == pytest.approx(0.4)
    assert calibration["recommended"]["cos_0.8_no_keyword"] >= 0.7
    assert found["search_ms"]["recommended"] > 0
    variants = found["add"]["variants"]
    assert variants["prev1"]["tokens_per_text"] > variants["turn"]["tokens_per_text"]
    assert variants["turn"]["add_cpu_p50_ms"] > 0
    assert found["notes"]["texts_embedded_this_run"] > 0
    assert list(cache.glob("vectors-*.npz"))


def test_vector_cache_keeps_every_key(tmp_path: Path) -> None:
    """Vectors come back from disk for every text, keys ending in NUL bytes included."""
    import numpy as np

    from bench._vector_cache import VectorCache, text_key

    texts = [f"memory number {i}" for i in range(1500)]
    assert any(text_key("m", t).endswith(b"\0") for t in texts)  # the case that once broke
    calls: list[int] = []

    def embed(batch: list[str]) -> np.ndarray:
        calls.append(len(batch))
        return np.array([[float(len(t)), float(hash(t) % 97)] for t in batch], dtype=np.float32)

    first, missed = VectorCache("m", tmp_path).get(texts, embed)
    again, missed_again = VectorCache("m", tmp_path).get([*texts, "one more"], embed)
    assert (missed, missed_again) == (1500, 1)
    assert calls == [1500, 1]
    np.testing.assert_array_equal(again[:1500], first)
    _, missed_other = VectorCache("another-model", tmp_path).get(texts[:3], embed)
    assert missed_other == 3


def test_relative_dates_resolve_against_the_observation_time() -> None:
    from datetime import datetime

    from bench._quality_text import query_entities, resolve_relative
    from mnemoweave._keywords import query_terms

    said = datetime(2023, 5, 8)
    assert resolve_relative("I went there yesterday", said) == ["may", "2023"]
    assert resolve_relative("we moved last year", said) == ["2022"]
    assert resolve_relative("two months ago, and last week too", said) == [
        "march",
        "2023",
        "may",
        "2023",
    ]
    assert resolve_relative("no time here", said) == []
    assert list(query_entities("When did Caroline go to the LGBTQ group?")) == list(
        query_terms("Caroline LGBTQ")
    )


def test_store_puts_quick(tmp_path: Path) -> None:
    out = run_bench(tmp_path, "store_puts", "--quick", "--tasks", "1,8", "--embedder", "hash")
    assert "| concurrent tasks |" in out
    found = figures(tmp_path, "store_puts-quick")["tasks"]
    assert set(found) == {"1", "8"}
    assert all(
        row["before_puts_per_s"] > 0 and row["after_puts_per_s"] > 0 for row in found.values()
    )


def test_cli_import_quick(tmp_path: Path) -> None:
    out = run_bench(tmp_path, "cli_import", "--quick", "--records", "300", "--batch", "100")
    assert "| Memory.batch_add | 300 |" in out
    found = figures(tmp_path, "cli_import-quick")
    assert set(found) == {
        "Memory.batch_add",
        "transfer.import_jsonl",
        "mem0_import.import_mem0",
        "`mnemoweave import` (subprocess)",
    }
    assert found["Memory.batch_add"]["ratio"] == 1.0
    assert all(row["records_per_s"] > 0 for row in found.values())
