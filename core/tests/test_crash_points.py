"""Kill a writer at every point where a crash changes what is on disk, then check the store.

The writer (forked by ``crash_worker.py``, see the ``crash`` fixture) counts moments around
every ``os.fsync``/``os.replace`` and every SQLite ``COMMIT`` during delete, batch_delete,
update, add, checkpoint and close, and SIGKILLs itself at moment ``k``; the test runs
``k = 1, 2, ...`` until a writer survives all of them. After each crash the reopened store
must pass ``verify()``, find every surviving row by vector search for its own text, hold
nothing whose delete returned (not in a query, not in a file's bytes), and stay so after a
later write and close.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import Memory, NotFoundError
from mnemoweave.embed import HashEmbedder, embed_texts

USER = "u"
TEXTS = [f"note {k} about token{k:02d}zq and its own details" for k in range(10)]
RENEWED = "renewed note about narwhalzq for the updated memory"
LATE = "late note about capybarazq added after the deletes"
AFTER = "written after the crash about okapizq"


def _ops(ids: list[str]) -> list[list[object]]:
    return [
        ["delete", ids[0]],
        ["batch_delete", ids[1:4]],
        ["update", ids[4], RENEWED],
        ["add", LATE, USER],
        ["checkpoint"],
        ["delete", ids[5]],
        ["close"],
    ]


def _deleted_by(op: list[object]) -> list[str]:
    if op[0] == "delete":
        return [str(op[1])]
    if op[0] == "batch_delete":
        return [str(i) for i in op[1]]  # type: ignore[attr-defined]
    return []


def _files(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.iterdir()) if p.is_file())


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("crash") / "template"
    with Memory(path, embedder="hash") as mem:
        ids = [mem.add(text, user_id=USER).results[0].id for text in TEXTS]
    assert (path / "vectors.faiss").exists()  # the crashes start from a saved snapshot
    return path, ids


def _check(path: Path, ids: list[str], ops: list[list[object]], done: set[int]) -> None:
    vectors = {t: v.tobytes() for t, v in zip(TEXTS, embed_texts(HashEmbedder(), TEXTS))}
    in_flight = min(set(range(len(ops))) - done, default=None)
    gone = {i for n in done for i in _deleted_by(ops[n])}
    maybe = set() if in_flight is None else set(_deleted_by(ops[in_flight]))
    for attempt in ("reopened", "after a later write"):
        with Memory(path, embedder="hash") as mem:
            assert mem.verify()["ok"], attempt
            present = {m.id: m.memory for m in mem.get_all(user_id=USER, limit=1000).results}
            for mid in ids:
                if mid in gone:
                    with pytest.raises(NotFoundError):
                        mem.get(mid)
                elif mid not in maybe:
                    assert mid in present, (attempt, mid)
            for mid, text in present.items():
                hit = mem.search(text, user_id=USER, limit=1, keyword_weight=0.0).results
                assert hit, (attempt, text)
                assert hit[0].id == mid, (attempt, text)
            if 2 in done:
                assert present[ids[4]] == RENEWED
            if 3 in done:
                assert LATE in present.values()
            if attempt == "reopened":
                mem.add(AFTER, user_id=USER)
            else:
                assert AFTER in present.values()
        data = _files(path)
        for mid, text in zip(ids, TEXTS):
            if mid in gone:
                assert vectors[text] not in data, (attempt, text)
                assert text.split()[3].encode() not in data, (attempt, text)


def test_a_crash_at_any_write_point_keeps_the_store_whole(
    template: tuple[Path, list[str]], tmp_path: Path, crash: Any
) -> None:
    source, ids = template
    ops = _ops(ids)
    kill = 0
    while True:
        kill += 1
        path = tmp_path / f"k{kill}"
        shutil.copytree(source, path)
        code, lines = crash.run(path, ops, kill=kill)
        done = {int(line.split()[1]) for line in lines if line.startswith("done ")}
        if code == 0:
            total = int(next(line for line in lines if line.startswith("moments")).split()[1])
            assert kill == total + 1  # every moment before this one was a crash
            break
        _check(path, ids, ops, done)
        shutil.rmtree(path)
    assert total > 20  # fsyncs, replaces and commits of every op were reached
