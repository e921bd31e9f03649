"""The PostgreSQL + pgvector backend against a real server, beside the SQLite backend.

The server is ``$MNEMOWEAVE_TEST_POSTGRES_URL`` when set, else one started by the ``pgserver``
package (PostgreSQL 16 with pgvector) in a temporary directory for the session (the
``pg_server_url`` fixture in conftest.py). Every test
gets its own collection (schema), so tests never see each other's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from mnemoweave import Memory
from mnemoweave.backends.postgres import PostgresBackend
from mnemoweave.config import coerce_config
from mnemoweave.errors import ConfigurationError, NotFoundError, ValidationError
from mnemoweave.testing import ScriptedOpenAIServer
from mnemoweave.testing import operations as ops

WORKER = Path(__file__).with_name("pg_worker.py")


def with_collection(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}collection={name}"


@pytest.fixture
def collection() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_url(pg_server_url: str, collection: str) -> str:
    return with_collection(pg_server_url, collection)


@pytest.fixture
def pg(pg_url: str) -> Iterator[Memory]:
    memory = Memory(backend=pg_url, embedder="hash")
    yield memory
    memory.close()


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Memory]:
    memory = Memory(tmp_path / "lite", embedder="hash")
    yield memory
    memory.close()


def raw(pg_server_url: str) -> psycopg.Connection:
    return psycopg.connect(pg_server_url, autocommit=True)


CORPUS: list[tuple[str, str, dict[str, Any], list[str]]] = [
    ("alice", "Loves green tea and hiking in the Alps", {"n": 1, "lang": "en", "tags": ["a"]}, []),
    ("alice", "Works as a nurse in Lyon", {"n": 2.5, "lang": "fr", "ok": True}, ["work"]),
    ("alice", "Allergic to peanuts and shellfish", {"n": 3, "lang": "en", "x": None}, ["health"]),
    ("alice", "Plays the cello on weekends", {"n": "3", "tags": ["b", "a"]}, ["hobby", "music"]),
    ("alice", "Drinks black coffee every morning", {"nested": {"k": 1}}, []),
    ("bob", "Loves green tea too, and chess", {"n": 1, "lang": "en"}, ["hobby"]),
    ("bob", "Lives in Berlin with two cats", {"n": 7}, ["home"]),
]


def load(mem: Memory) -> dict[str, str]:
    """The corpus, added without an LLM; returns text -> id."""
    ids = {}
    for user, text, meta, cats in CORPUS:
        res = mem.add(text, user_id=user, metadata=meta, infer=False)
        ids[text] = res.results[0].id
        if cats:
            mem.update(ids[text], metadata=meta, categories=cats)
    return ids


# -- basic behaviour ----------------------------------------------------------------------------
def test_crud_history_and_versions(pg: Memory) -> None:
    added = pg.add("Lives in Paris", user_id="u", infer=False, metadata={"city": "paris"})
    mid = added.results[0].id
    got = pg.get(mid)
    assert (got.memory, got.user_id, got.metadata) == ("Lives in Paris", "u", {"city": "paris"})
    pg.update(mid, "Lives in Berlin")
    assert pg.get(mid).memory == "Lives in Berlin"
    assert [(h.event, h.old_memory, h.new_memory) for h in pg.history(mid)] == [
        ("ADD", None, "Lives in Paris"),
        ("UPDATE", "Lives in Paris", "Lives in Berlin"),
    ]
    page = pg.get_all(user_id="u")
    assert page.total == 1
    assert [m.memory for m in page.results] == ["Lives in Berlin"]
    stats = pg.backend.stats()
    assert (stats["backend"], stats["memories"], stats["versions"]) == ("postgres", 1, 1)
    assert pg.verify()["ok"] is True
    pg.delete(mid)
    with pytest.raises(NotFoundError):
        pg.get(mid)
    assert pg.get_all(user_id="u").total == 0
    assert [h.event for h in pg.history(mid)] == ["ADD", "UPDATE", "DELETE"]
    assert all(h.old_memory is None and h.new_memory is None for h in pg.history(mid))


def test_infer_add_update_and_as_of_through_the_llm(pg_url: str) -> None:
    t1 = datetime(2025, 1, 10, tzinfo=UTC)
    t2 = datetime(2025, 6, 1, tzinfo=UTC)
    with ScriptedOpenAIServer() as server:
        llm = {"model": "m", "base_url": server.base_url, "api_key": "k", "timeout": 60}
        mem = Memory(backend=pg_url, embedder="hash", llm=llm)
        try:
            server.script(ops(("ADD", None, "Lives in Paris")))
            first = mem.add("I live in Paris", user_id="u", timestamp=t1).results[0]
            server.script(ops(("UPDATE", 0, "Lives in Berlin")))
            res = mem.add("I moved to Berlin", user_id="u", timestamp=t2)
            assert (res.results[0].event, res.results[0].id) == ("UPDATE", first.id)
            assert "Lives in Paris" in server.chat_requests[-1].messages[-1]["content"]
            before = mem.search("where does the user live", user_id="u", as_of=t1 + timedelta(1))
            assert [r.memory for r in before.results] == ["Lives in Paris"]
            after = mem.search("where does the user live", user_id="u", as_of=t2 + timedelta(1))
            assert [r.memory for r in after.results] == ["Lives in Berlin"]
            server.script(ops(("DELETE", 0, None)))
            mem.add("I left Berlin", user_id="u")
            assert mem.search("Berlin", user_id="u").results == []
            assert mem.get(first.id).valid_to is not None  # retired, kept for history
            window = mem.get_messages(user_id="u")
            assert [m["content"] for m in window][:1] == ["I live in Paris"]
        finally:
            mem.close()


def test_tenant_isolation(pg: Memory) -> None:
    ids = load(pg)
    for user in ("alice", "bob"):
        mine = {t for u, t, _, _ in CORPUS if u == user}
        found = pg.search("green tea", user_id=user, limit=50).results
        assert {r.memory for r in found} <= mine
        assert {m.memory for m in pg.get_all(user_id=user, limit=50).results} == mine
    assert pg.search("anything", user_id="carol").results == []
    pg.delete_all(user_id="bob")
    assert pg.get_all(user_id="bob").total == 0
    assert pg.get_all(user_id="alice").total == 5
    assert pg.get(ids["Works as a nurse in Lyon"]).user_id == "alice"


_SCOPES = st.lists(
    st.tuples(
        st.sampled_from(["u1", "u2", "u3"]),
        st.sampled_from([None, "a1", "a2"]),
        st.sampled_from(["tea", "coffee", "chess", "tea chess"]),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(adds=_SCOPES)
def test_tenant_isolation_property(pg: Memory, adds: list[tuple[str, str | None, str]]) -> None:
    run = uuid.uuid4().hex[:8]  # one example's users are unknown to every other example
    expected: dict[tuple[str, str | None], set[str]] = {}
    for user, agent, word in adds:
        text = f"{word} note {len(expected)} {run}"
        pg.add(text, user_id=f"{user}-{run}", agent_id=agent, infer=False)
        for key in ((user, None), (user, agent)):
            expected.setdefault(key, set()).add(text)
    for (user, agent), texts in expected.items():
        uid = f"{user}-{run}"
        got = {m.memory for m in pg.get_all(user_id=uid, agent_id=agent, limit=100).results}
        assert got == texts
        for query in ("tea", "coffee chess"):
            hits = pg.search(query, user_id=uid, agent_id=agent, limit=100).results
            assert {r.memory for r in hits} <= texts


def test_collections_are_separate_stores(pg_server_url: str) -> None:
    a = Memory(backend=with_collection(pg_server_url, f"a_{uuid.uuid4().hex[:8]}"), embedder="hash")
    b = Memory(backend=with_collection(pg_server_url, f"b_{uuid.uuid4().hex[:8]}"), embedder="hash")
    try:
        a.add("only in a", user_id="u", infer=False)
        assert b.get_all(user_id="u").total == 0
        assert a.get_all(user_id="u").total == 1
    finally:
        a.close()
        b.close()


# -- the same results as SQLite ---------------------------------------------------------------
QUERIES = ["green tea", "where does alice work", "food allergy", "music", "coffee morning"]


def test_scoped_search_matches_sqlite_exactly(pg: Memory, lite: Memory) -> None:
    load(pg)
    load(lite)
    for user in ("alice", "bob"):
        for query in QUERIES:
            p = pg.search(query, user_id=user, limit=10).results
            s = lite.search(query, user_id=user, limit=10).results
            assert [r.memory for r in p] == [r.memory for r in s], query
            assert p or user == "bob", query  # alice's queries all have hits
            for x, y in zip(p, s):
                assert x.score == pytest.approx(y.score, abs=1e-6)


FILTERS: list[dict[str, Any]] = [
    {"lang": "en"},
    {"n": 1},
    {"n": {"gte": 2}},
    {"n": {"lt": 3}},
    {"n": "3"},
    {"n": {"in": [1, "3", 7]}},
    {"n": {"ne": 1}},
    {"n": {"nin": [1, 2.5]}},
    {"ok": True},
    {"x": None},
    {"x": "*"},
    {"lang": {"gt": "en"}},
    {"tags": {"contains": "a"}},
    {"tags": ["b", "a"]},
    {"nested": {"eq": {"k": 1}}},
    {"lang": {"icontains": "FR"}},
    {"categories": {"contains": "hobby"}},
    {"categories": {"in": ["work", "home"]}},
    {"categories": "*"},
    {"memory": {"icontains": "TEA"}},
    {"memory": {"contains": "cello"}},
    {"OR": [{"lang": "fr"}, {"n": 3}]},
    {"AND": [{"lang": "en"}, {"NOT": {"n": 3}}]},
    {"NOT": [{"lang": "en"}]},
    {"metadata": {"lang": "en", "n": {"lte": 1}}},
    {"created_at": {"gte": "2000-01-01T00:00:00Z"}},
    {"role": "user"},
    {"immutable": False},
]


@pytest.mark.parametrize("flt", FILTERS, ids=[str(f) for f in FILTERS])
def test_filters_select_what_sqlite_selects(pg: Memory, lite: Memory, flt: dict[str, Any]) -> None:
    load(pg)
    load(lite)
    for user in ("alice", "bob"):
        p = {m.memory for m in pg.get_all(user_id=user, filters=flt, limit=100).results}
        s = {m.memory for m in lite.get_all(user_id=user, filters=flt, limit=100).results}
        assert p == s, (user, flt)
        hits = pg.search("tea", user_id=user, filters=flt, limit=100).results
        assert {r.memory for r in hits} <= p


def test_some_filters_select_a_strict_subset(pg: Memory) -> None:
    # The parity test above would also pass on two empty results: these sizes are known.
    load(pg)
    sizes = {str(f): pg.get_all(user_id="alice", filters=f, limit=100).total for f in FILTERS}
    assert sizes["{'lang': 'en'}"] == 2
    assert sizes["{'n': {'gte': 2}}"] == 2  # 2.5 and 3, not the string "3"
    assert sizes["{'n': '3'}"] == 1
    assert sizes["{'x': None}"] == 5  # null or absent: every alice memory
    assert sizes["{'x': '*'}"] == 1
    assert sizes["{'categories': {'contains': 'hobby'}}"] == 1


def test_bad_filters_raise_validation_errors(pg: Memory) -> None:
    bad: dict[str, Any]
    for bad in ({"n": {"like": 1}}, {"or": [{"n": 1}]}, {"AND": []}, {"n": {"gt": None}}):
        with pytest.raises(ValidationError):
            pg.get_all(user_id="u", filters=bad)


def test_metadata_keys_with_quotes_and_percent_signs(pg: Memory) -> None:
    pg.add("odd keys", user_id="u", infer=False, metadata={"it's 100%": "yes", 'q"k': 2})
    assert pg.get_all(user_id="u", filters={"it's 100%": "yes"}).total == 1
    assert pg.get_all(user_id="u", filters={'q"k': {"gt": 1}}).total == 1
    assert pg.get_all(user_id="u", filters={"it's 100%": "no"}).total == 0


# -- erasure and atomicity --------------------------------------------------------------------
def _cells_holding(conn: psycopg.Connection, schema: str, needle: str) -> list[str]:
    """Every (table.column) of the schema whose text form holds ``needle``."""
    cols = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s",
        (schema,),
    ).fetchall()
    found = []
    for table, column in cols:
        query = sql.SQL("SELECT count(*) FROM {}.{} WHERE {}::text LIKE %s").format(
            sql.Identifier(schema), sql.Identifier(table), sql.Identifier(column)
        )
        row = conn.execute(query, (f"%{needle}%",)).fetchone()
        if row and row[0]:
            found.append(f"{table}.{column}")
    return found


def _files_holding(conn: psycopg.Connection, schema: str, needle: bytes) -> list[str]:
    """The collection's table files (heap and TOAST) that hold ``needle``'s bytes."""
    rels = conn.execute(
        "SELECT c.relname, pg_relation_filepath(c.oid) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
        " AND c.relkind IN ('r', 't')"
        " UNION SELECT t.relname, pg_relation_filepath(t.oid) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class t ON t.oid = c.reltoastrelid"
        " WHERE n.nspname = %s",
        (schema, schema),
    ).fetchall()
    conn.execute("CHECKPOINT")  # dirty pages reach the files
    found = []
    for name, path in rels:
        if path is None:
            continue
        row = conn.execute("SELECT pg_read_binary_file(%s)", (path,)).fetchone()
        if row and needle in bytes(row[0]):
            found.append(name)
    return found


def test_delete_erases_the_text_everywhere(pg: Memory, pg_server_url: str, collection: str) -> None:
    secret = "Secret PIN is 4921 for zz-unique-marker"
    mid = pg.add(secret, user_id="u", infer=False).results[0].id
    pg.update(mid, "Secret PIN changed for zz-unique-marker-two")
    keep = pg.add("An unrelated memory", user_id="u", infer=False).results[0].id
    with raw(pg_server_url) as conn:
        assert _cells_holding(conn, collection, "zz-unique-marker")  # the probe sees it
        # Not claimed gone from the files: dead tuples stay until VACUUM FULL (purge()).
        assert pg.delete(mid)["erased_from_disk"] is False
        assert _cells_holding(conn, collection, "zz-unique-marker") == []
        pg.backend.purge()
        assert _files_holding(conn, collection, b"zz-unique-marker") == []
        assert _files_holding(conn, collection, b"An unrelated memory")  # the probe works
    assert pg.get(keep).memory == "An unrelated memory"


def test_erase_vacuum_rewrites_the_tables_at_once(pg_server_url: str, collection: str) -> None:
    url = with_collection(pg_server_url, collection) + "&erase=vacuum"
    mem = Memory(backend=url, embedder="hash")
    try:
        mid = mem.add("zz-vacuum-marker in a memory", user_id="u", infer=False).results[0].id
        mem.add("kept text stays", user_id="u", infer=False)
        assert mem.delete(mid)["erased_from_disk"] is True
        with raw(pg_server_url) as conn:
            assert _files_holding(conn, collection, b"zz-vacuum-marker") == []
            assert _files_holding(conn, collection, b"kept text stays")
        assert mem.delete_all(user_id="u")["erased_from_disk"] is True
    finally:
        mem.close()


def test_batch_delete_is_all_or_nothing(pg: Memory) -> None:
    a = pg.add("first", user_id="u", infer=False).results[0].id
    b = pg.add("second", user_id="u", infer=False).results[0].id
    with pytest.raises(NotFoundError):
        pg.batch_delete([a, str(uuid.uuid4()), b])
    assert pg.get_all(user_id="u").total == 2
    pg.batch_delete([a, b])
    assert pg.get_all(user_id="u").total == 0


def test_a_failing_write_transaction_leaves_nothing(pg: Memory) -> None:
    backend = pg.backend
    assert isinstance(backend, PostgresBackend)
    pg.add("before", user_id="u", infer=False)

    def crash() -> None:
        with backend.write() as w:
            w.put_lease("scope-x", "me", 1, "host", 1e12)
            w.erase(w.scope_keys({"user_id": "u"}), 0.0)
            raise RuntimeError("crash mid-batch")

    with pytest.raises(RuntimeError):
        crash()
    assert [m.memory for m in pg.get_all(user_id="u").results] == ["before"]
    with backend.write() as w:
        assert w.lease_holder("scope-x") is None


def test_batch_add_and_dump(pg: Memory) -> None:
    res = pg.batch_add([{"text": f"fact {i}", "user_id": "u"} for i in range(20)])
    assert len(res.results) == 20
    mid = res.results[0]["id"]
    pg.update(mid, "fact zero, revised")
    with pg.backend.read() as reader:
        records = list(reader.dump(True))
    assert len(records) == 20
    assert [v["memory"] for v in records[0]["versions"]] == ["fact 0"]


# -- configuration ----------------------------------------------------------------------------
def test_mem0_pgvector_config_opens_the_backend(pg_server_url: str) -> None:
    name = f"m0_{uuid.uuid4().hex[:8]}"
    config = {
        "vector_store": {
            "provider": "pgvector",
            "config": {"connection_string": pg_server_url, "collection_name": name, "maxconn": 4},
        },
        "embedder": "hash",
    }
    mem = Memory.from_config(config)
    try:
        assert isinstance(mem.backend, PostgresBackend)
        assert mem.backend.schema == name
        mem.add("through mem0's config", user_id="u", infer=False)
        assert mem.get_all(user_id="u").total == 1
    finally:
        mem.close()
    with pytest.raises(ConfigurationError, match=r"unknown vector_store\.config"):
        coerce_config({"vector_store": {"provider": "pgvector", "config": {"bogus": 1}}})


def test_mnemoweave_backend_env_var(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MNEMOWEAVE_BACKEND", pg_url)
    mem = Memory(embedder="hash")
    try:
        assert isinstance(mem.backend, PostgresBackend)
    finally:
        mem.close()
    explicit = Memory(tmp_path / "s", embedder="hash")  # a path still means SQLite
    try:
        assert not isinstance(explicit.backend, PostgresBackend)
    finally:
        explicit.close()


def test_bad_urls_and_collections_are_clear_errors(pg_server_url: str) -> None:
    with pytest.raises(ConfigurationError, match="collection"):
        Memory(backend=with_collection(pg_server_url, "-bad name"), embedder="hash")
    with pytest.raises(ConfigurationError, match="pool_max"):
        Memory(backend=f"{pg_server_url}&pool_max=0", embedder="hash")
    with pytest.raises(ConfigurationError, match="erase"):
        Memory(backend=f"{pg_server_url}&erase=sometimes", embedder="hash")


def test_location_hides_the_password() -> None:
    from mnemoweave.backends.postgres._keys import parse_url

    target = parse_url("postgresql://bob:hunter2@db.example:5432/app?collection=c1&pool_max=3")
    assert "hunter2" not in target.location
    assert target.collection == "c1"
    assert target.pool_max == 3
    assert "collection" not in target.conninfo


def test_a_newer_schema_is_refused(
    pg: Memory, pg_url: str, pg_server_url: str, collection: str
) -> None:
    from mnemoweave.errors import SchemaVersionError

    with raw(pg_server_url) as conn:
        conn.execute(
            sql.SQL("INSERT INTO {}.schema_migrations VALUES (99, 'future', 0)").format(
                sql.Identifier(collection)
            )
        )
    with pytest.raises(SchemaVersionError):
        Memory(backend=pg_url, embedder="hash")


# -- several processes ------------------------------------------------------------------------
def test_four_writers_and_a_reader_lose_nothing(pg_url: str, spawn: Callable[..., Any]) -> None:
    Memory(backend=pg_url, embedder="hash").close()  # bind the model before the race
    n, tags = 250, ["a", "b", "c", "d"]
    reader = spawn(WORKER, "read", pg_url, ",".join(f"user-{t}" for t in tags), stdin=True)
    reader.expect("ready")
    writers = [spawn(WORKER, "write", pg_url, tag, str(n)) for tag in tags]
    committed = {}
    for tag, child in zip(tags, writers):
        child.expect("done")
        assert child.finish() == 0, child.stderr()
        committed[tag] = [line for line in child.completed() if line not in ("ready", "done")]
    assert reader.proc.stdin is not None
    reader.proc.stdin.close()  # end of input: the reader stops and reports
    assert int(reader.expect("reads")[0].split()[1]) > 0
    assert reader.finish() == 0, reader.stderr()
    mem = Memory(backend=pg_url, embedder="hash")
    try:
        for tag in tags:
            assert len(committed[tag]) == n
            stored = {m.id for m in mem.get_all(user_id=f"user-{tag}", limit=1000).results}
            assert stored == set(committed[tag])
    finally:
        mem.close()


def test_two_machines_see_each_others_writes_at_once(
    pg_url: str, spawn: Callable[..., Any]
) -> None:
    """Two processes, each with its own pool, both opened before any write: what one commits
    the other reads on its very next call, in both directions, and scoping still holds."""
    Memory(backend=pg_url, embedder="hash").close()
    a, b = (spawn(WORKER, "peer", pg_url, name, stdin=True) for name in ("a", "b"))
    a.expect("ready a")
    b.expect("ready b")
    a.send("add ana Ana keeps bees on the roof\n")
    first = a.expect("added ")[-1].split()[1]
    b.send(f"get {first}\n")
    assert b.expect("got ")[-1] == "got Ana keeps bees on the roof"
    b.send("search ana bees roof\n")
    assert b.expect("found ")[-1] == f"found {first}"
    b.send("add ana Ana sells the honey\n")
    second = b.expect("added ")[-1].split()[1]
    a.send("search ana honey bees\n")
    assert set(a.expect("found ")[-1].split()[1].split(",")) == {first, second}
    a.send("search ben bees honey\n")
    assert a.expect("found ", count=2)[-1] == "found "  # another user sees none of it
    for child in (a, b):
        assert child.proc.stdin is not None
        child.proc.stdin.close()
        assert child.finish() == 0, child.stderr()


def test_sigkill_mid_batch_leaves_no_half_batch(pg_url: str, spawn: Callable[..., Any]) -> None:
    size = 200
    child = spawn(WORKER, "batches", pg_url, str(size))
    acknowledged = len(child.expect("batch", count=3))
    child.kill()  # SIGKILL, most likely inside the next batch's transaction
    mem = Memory(backend=pg_url, embedder="hash")
    try:
        total = mem.get_all(user_id="b", limit=1).total
        assert total % size == 0
        assert total >= acknowledged * size
        texts = {m.memory for m in mem.get_all(user_id="b", limit=100_000).results}
        batches = {t.split(" item ")[0] for t in texts}
        assert all(f"{b} item {j}" in texts for b in batches for j in range(size))
        assert mem.verify()["ok"] is True
    finally:
        mem.close()


def test_processes_opening_a_new_collection_at_once(
    pg_url: str, pg_server_url: str, collection: str, spawn: Callable[..., Any]
) -> None:
    children = [spawn(WORKER, "open", pg_url, stdin=True) for _ in range(3)]
    for c in children:
        c.send("go\n")
    for c in children:
        c.expect("opened")
        assert c.finish() == 0, c.stderr()
    with raw(pg_server_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT version FROM {}.schema_migrations").format(sql.Identifier(collection))
        ).fetchall()
        assert rows == [(1,)]
    mem = Memory(backend=pg_url, embedder="hash")
    try:
        assert mem.get_all(user_id="racer").total == 3
    finally:
        mem.close()
