"""Issue 14, defect 2: every time input is range-checked, and old out-of-range rows still read.

Times are stored as epoch seconds and must lie in years 1-9999 UTC. Before this fix an epoch in
milliseconds (or ``1e20``, or year 1 at +14:00) was stored and then broke every read of the
scope with a raw ``ValueError``/``OverflowError``.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mnemoweave import Memory, ValidationError

BAD_TIMES = [1.7e12, 1e20, -1e12, "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-01:00", 10**400]
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def reads_work(api: Any, user_id: str) -> int:
    """Every read of the scope succeeds; returns how many memories it holds."""
    listed = api.get_all(user_id=user_id, include_expired=True)
    for item in listed.results:
        api.get(item.id)
        api.history(item.id)
    api.search("hello", user_id=user_id, include_expired=True)
    assert api.count(user_id=user_id, include_expired=True) == listed.total
    return int(listed.total)


@pytest.mark.parametrize("argument", ["timestamp", "expiration_date"])
def test_add_rejects_out_of_range_times_and_the_scope_stays_readable(
    api: Any, argument: str
) -> None:
    api.add("hello there", user_id="u", infer=False)
    for value in BAD_TIMES:
        with pytest.raises(ValidationError, match=rf"{argument}=.*outside the accepted range"):
            api.add("hello again", user_id="u", infer=False, **{argument: value})
    assert reads_work(api, "u") == 1


def test_epoch_milliseconds_get_a_hint(mem: Memory) -> None:
    with pytest.raises(ValidationError, match="milliseconds"):
        mem.add("x", user_id="u", expiration_date=1_700_000_000_000)


def test_the_edges_of_the_range_are_accepted_and_read_back(api: Any) -> None:
    first = api.add("old", user_id="u", timestamp="0001-01-01T00:00:00Z").results[0].id
    last = api.add("far", user_id="u", expiration_date="9999-12-31T23:59:59Z").results[0].id
    assert api.get(first).valid_from == EARLIEST
    assert api.get(last).expiration_date == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_update_rejects_before_saving(api: Any) -> None:
    mid = api.add("hello", user_id="u", expiration_date="2030-01-01").results[0].id
    for value in BAD_TIMES:
        with pytest.raises(ValidationError, match="expiration_date"):
            api.update(mid, expiration_date=value)
        assert api.get(mid).expiration_date == datetime(2030, 1, 1, tzinfo=UTC)
        with pytest.raises(ValidationError, match=r"updates\[0\].expiration_date"):
            api.batch_update([{"memory_id": mid, "expiration_date": value}])
        assert api.get(mid).expiration_date == datetime(2030, 1, 1, tzinfo=UTC)
    assert [h.event for h in api.history(mid)] == ["ADD"]


@pytest.mark.parametrize("argument", ["timestamp", "expiration_date"])
def test_batch_add_rejects_the_whole_batch(api: Any, argument: str) -> None:
    records = [
        {"text": "fine", "user_id": "u"},
        {"text": "bad", "user_id": "u", argument: 1e20},
    ]
    with pytest.raises(ValidationError, match=rf"records\[1\].{argument}"):
        api.batch_add(records)
    assert api.count(user_id="u") == 0


def test_search_as_of_and_time_filters_are_checked(api: Any) -> None:
    api.add("hello", user_id="u")
    for value in BAD_TIMES:
        with pytest.raises(ValidationError, match="as_of"):
            api.search("hello", user_id="u", as_of=value)
        with pytest.raises(ValidationError, match="created_at"):
            api.get_all(user_id="u", filters={"created_at": {"gt": value}})
        with pytest.raises(ValidationError, match="valid_from"):
            api.search("hello", user_id="u", filters={"valid_from": {"in": [0, value]}})


def test_rows_written_out_of_range_by_older_versions_still_read(store_dir: Path) -> None:
    """Rows an older version stored with such values read as the nearest representable instant.

    Ordering and expiry keep using the stored number, so what a row reads as agrees with
    how filters and expiry treat it.
    """
    with Memory(store_dir, embedder="hash") as mem:
        ids = [mem.add(f"hello {i}", user_id="u").results[0].id for i in range(4)]
        mem.update(ids[3], "hello updated")  # a version row, shown by as_of searches
    conn = sqlite3.connect(store_dir / "mnemoweave.db")
    with conn:
        conn.execute("UPDATE memories SET expires_at = 1e20 WHERE id = ?", (ids[0],))
        conn.execute(
            "UPDATE memories SET created_at = -1e12, valid_from = -1e12 WHERE id = ?", (ids[1],)
        )
        conn.execute(
            "UPDATE memories SET updated_at = 'not a time', expired_at = 1.7e12 WHERE id = ?",
            (ids[2],),
        )
        conn.execute("UPDATE memory_versions SET valid_to = 1e300, created_at = -1e300")
        conn.execute("UPDATE history SET created_at = 1e20")
    conn.close()
    with Memory(store_dir, embedder="hash") as mem:
        assert reads_work(mem, "u") == 4
        assert mem.get(ids[0]).expiration_date == LATEST
        assert mem.get(ids[1]).created_at == EARLIEST
        assert mem.get(ids[1]).valid_from == EARLIEST
        assert mem.get(ids[2]).updated_at is None
        assert mem.get(ids[2]).expired_at == LATEST
        assert all(h.created_at == LATEST for h in mem.history(ids[3]))
        # The stored number still decides: 1e20 has not passed, so the memory is active.
        assert ids[0] in {r.id for r in mem.get_all(user_id="u").results}
        far = {"expiration_date": {"gt": "9000-01-01"}}
        assert [r.id for r in mem.get_all(user_id="u", filters=far).results] == [ids[0]]
        past = mem.search("hello", user_id="u", as_of=datetime.now(UTC) - timedelta(days=1))
        assert all(r.valid_to in (None, LATEST) for r in past.results)
        assert mem.get(ids[0]).to_dict()["expiration_date"].startswith("9999-12-31T23:59:59")
        # A user fixes such a row with a valid value.
        mem.update(ids[0], expiration_date="2031-01-01")
        assert mem.get(ids[0]).expiration_date == datetime(2031, 1, 1, tzinfo=UTC)
        assert mem.verify()["ok"] is True
