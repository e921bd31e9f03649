"""Numbered schema migrations, applied in order and recorded in the database itself.

A migration is never edited once released: schema changes append a new entry. A store whose
recorded version is above the newest one here was written by a newer mnemoweave and is refused.
"""

from __future__ import annotations

import sqlite3
import time

from ...errors import SchemaVersionError

_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE embedding_models (
    id    INTEGER PRIMARY KEY,
    model TEXT NOT NULL,
    dim   INTEGER NOT NULL,
    UNIQUE (model, dim)
);
-- rid is the memory's position in the vector index; AUTOINCREMENT never reuses one.
CREATE TABLE memories (
    rid         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    memory      TEXT NOT NULL,
    hash        TEXT NOT NULL,
    user_id     TEXT,
    agent_id    TEXT,
    run_id      TEXT,
    actor_id    TEXT,
    role        TEXT,
    metadata    TEXT NOT NULL DEFAULT '{}',
    categories  TEXT NOT NULL DEFAULT '[]',
    memory_type TEXT,
    immutable   INTEGER NOT NULL DEFAULT 0,
    status      INTEGER NOT NULL DEFAULT 0,   -- 0 active, 1 retired (kept for history/as_of)
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    valid_from  REAL NOT NULL,
    valid_to    REAL,
    recorded_at REAL NOT NULL,
    expired_at  REAL,
    expires_at  REAL,                         -- the caller's expiration_date
    terms       BLOB NOT NULL,
    embedding   BLOB NOT NULL,
    model_id    INTEGER NOT NULL REFERENCES embedding_models (id)
);
CREATE INDEX memories_user ON memories (user_id, status, expires_at) WHERE user_id IS NOT NULL;
CREATE INDEX memories_agent ON memories (agent_id, status, expires_at) WHERE agent_id IS NOT NULL;
CREATE INDEX memories_run ON memories (run_id, status, expires_at) WHERE run_id IS NOT NULL;

-- Earlier texts of a memory, each with the interval in which it was the current one.
CREATE TABLE memory_versions (
    vid         INTEGER PRIMARY KEY,
    rid         INTEGER NOT NULL REFERENCES memories (rid) ON DELETE CASCADE,
    memory      TEXT NOT NULL,
    hash        TEXT NOT NULL,
    metadata    TEXT NOT NULL,
    categories  TEXT NOT NULL,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    valid_from  REAL NOT NULL,
    valid_to    REAL NOT NULL,
    recorded_at REAL NOT NULL,
    expired_at  REAL NOT NULL,
    terms       BLOB NOT NULL,
    embedding   BLOB NOT NULL,
    model_id    INTEGER NOT NULL REFERENCES embedding_models (id)
);
CREATE INDEX memory_versions_rid ON memory_versions (rid);

-- Keyed by the memory's rid (ascending, so cheap to index); memory_id survives erasure.
CREATE TABLE history (
    id          INTEGER PRIMARY KEY,
    rid         INTEGER NOT NULL,
    memory_id   TEXT NOT NULL,
    event       TEXT NOT NULL,
    old_memory  TEXT,
    new_memory  TEXT,
    actor_id    TEXT,
    role        TEXT,
    created_at  REAL NOT NULL,
    is_deleted  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX history_rid ON history (rid, id);

-- The recent raw messages of each exact scope (user, agent, run).
CREATE TABLE messages (
    id         INTEGER PRIMARY KEY,
    scope      TEXT NOT NULL,
    user_id    TEXT,
    agent_id   TEXT,
    run_id     TEXT,
    role       TEXT NOT NULL,
    content    TEXT NOT NULL,
    name       TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX messages_scope ON messages (scope, id);
CREATE INDEX messages_user ON messages (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX messages_agent ON messages (agent_id) WHERE agent_id IS NOT NULL;
CREATE INDEX messages_run ON messages (run_id) WHERE run_id IS NOT NULL;

-- In-place changes to memories (new text or vector, erasure); new rows are found by rid.
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    rid INTEGER NOT NULL
);
"""

# Which raw messages each memory came from (extracted, updated or confirmed by an infer add),
# so delete(id, source=True) can erase them too; a link goes when either side is deleted.
# Memories written before this migration have no links.
# And one lease per exact scope, held by the add that is reconciling that scope (see _lease.py).
_V2 = """
CREATE TABLE memory_sources (
    rid        INTEGER NOT NULL REFERENCES memories (rid) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    PRIMARY KEY (rid, message_id)
) WITHOUT ROWID;
CREATE INDEX memory_sources_message ON memory_sources (message_id);

CREATE TABLE scope_leases (
    scope      TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    host       TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
"""

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "initial schema", _V1),
    (2, "memory sources and scope leases", _V2),
]
LATEST = MIGRATIONS[-1][0]


def current_version(conn: sqlite3.Connection) -> int:
    """The highest migration recorded in the database (0 for a new file)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to :data:`LATEST`; the caller holds a write transaction."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    version = current_version(conn)
    if version > LATEST:
        raise SchemaVersionError(
            f"this store has schema version {version}, but this mnemoweave only knows up to "
            f"{LATEST}: upgrade mnemoweave (pip install -U mnemoweave) to open it"
        )
    for number, name, script in MIGRATIONS:
        if number <= version:
            continue
        for statement in _statements(script):
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (number, name, time.time()),
        )
    conn.execute(f"PRAGMA user_version = {LATEST}")
    return LATEST


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (none of ours contain ';' inside literals)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
