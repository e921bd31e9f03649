"""Contract tests on single memories: CRUD, versions and ``as_of``, batches, erasure, async."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mnemoweave import ImmutableMemoryError, Memory, NotFoundError, ValidationError

from ._contract_base import ContractBase, exists, ids_of

SECRET = "quokkazebra7731"
SECRET_META = "wexfordia4419"
SECRET_NEW = "plumbago5583"
SECRET_REASON = "marzipanic2208"


def _batch(mem: Memory, texts: list[str]) -> list[str]:
    """``batch_add`` the texts for user ana; their ids in order."""
    done = mem.batch_add([{"text": t, "user_id": "ana"} for t in texts]).results
    return [str(r["id"]) for r in done]


class RecordContract(ContractBase):
    """What a backend must do with individual memories."""

    def test_crud_round_trip(self, contract_config: dict[str, Any]) -> None:
        """A memory comes back from get/get_all/search/count exactly as added, and persists.

        Fix: store and return every field (text, metadata, categories, scope ids); make
        writes durable before ``add`` returns and readable by a newly opened ``Memory``.
        """
        mem = self.open_memory(contract_config)  # closed (and reopened) below
        meta = {"kind": "pet", "n": 3, "tags": ["cat", "indoor"], "nested": {"a": [1, None]}}
        added = mem.add(
            "My cat Biscuit sleeps on the radiator",
            user_id="ana",
            agent_id="helper",
            run_id="r1",
            metadata=meta,
            categories=["pets", "home"],
            infer=False,
        )
        assert [e.event for e in added.results] == ["ADD"]
        mid = added.results[0].id
        item = mem.get(mid)
        assert item.memory == "My cat Biscuit sleeps on the radiator"
        assert (item.user_id, item.agent_id, item.run_id) == ("ana", "helper", "r1")
        assert item.metadata == meta
        assert sorted(item.categories) == ["home", "pets"]
        assert ids_of(mem.get_all(user_id="ana")) == {mid}
        assert mem.search("cat radiator", user_id="ana").results[0].id == mid
        assert mem.count(user_id="ana") == 1
        assert mem.count(agent_id="helper") == 1
        assert mem.count(user_id="bo") == 0
        updated = mem.update(mid, metadata={"kind": "pet", "n": 4})
        assert updated.id == mid
        assert updated.metadata == {"kind": "pet", "n": 4}
        other = mem.add("Bo likes chess", user_id="bo", infer=False).results[0].id
        mem.delete(other)
        mem.close()
        with self.open_memory(contract_config) as again:
            assert again.get(mid).metadata == {"kind": "pet", "n": 4}
            assert again.get(mid).memory == "My cat Biscuit sleeps on the radiator"
            assert not exists(again, other)
            assert again.verify()["ok"]

    def test_update_keeps_id_and_versions_the_old_text(self, contract_memory: Memory) -> None:
        """An update keeps the id; the old text becomes a version listed in ``history``.

        Fix: replace the text in place (same id), write the previous text as a version row
        and an UPDATE history entry (old and new text) in the same transaction; search the
        current text only.
        """
        mem = contract_memory
        mid = mem.add("Ana lives in Lisbon", user_id="ana", infer=False).results[0].id
        assert mem.update(mid, "Ana lives in Porto").id == mid
        assert mem.update(mid, "Ana lives in Braga").id == mid
        assert mem.get(mid).memory == "Ana lives in Braga"
        history = mem.history(mid)
        assert [(e.event, e.old_memory, e.new_memory) for e in history] == [
            ("ADD", None, "Ana lives in Lisbon"),
            ("UPDATE", "Ana lives in Lisbon", "Ana lives in Porto"),
            ("UPDATE", "Ana lives in Porto", "Ana lives in Braga"),
        ]
        stamps = [e.created_at for e in history]
        assert all(
            a is not None and b is not None and a <= b for a, b in itertools.pairwise(stamps)
        )
        found = mem.search("Ana lives in Lisbon", user_id="ana", limit=10).results
        assert [(r.id, r.memory) for r in found] == [(mid, "Ana lives in Braga")]
        assert mem.count(user_id="ana") == 1

    def test_as_of_returns_the_version_valid_then(self, contract_memory: Memory) -> None:
        """``search(as_of=t)`` finds the text that was valid at ``t``, under the same id.

        Fix: give every version its validity interval (``valid_from`` from the add's
        ``timestamp``, ``valid_to`` when it was replaced) and select rows and versions of the
        scope whose interval contains ``t``.
        """
        mem = contract_memory
        mid = (
            mem.add(
                "Ana lives in Lisbon", user_id="ana", timestamp="2020-01-01T00:00:00Z", infer=False
            )
            .results[0]
            .id
        )
        mem.add("Bo lives in Oslo", user_id="bo", timestamp="2020-01-01T00:00:00Z", infer=False)
        mem.update(mid, "Ana lives in Porto")
        then = mem.search("where does Ana live", user_id="ana", as_of="2021-06-01").results
        assert [(r.id, r.memory) for r in then] == [(mid, "Ana lives in Lisbon")]
        now = mem.search("where does Ana live", user_id="ana").results
        assert [(r.id, r.memory) for r in now] == [(mid, "Ana lives in Porto")]
        later = datetime.now(UTC) + timedelta(days=1)
        assert [r.memory for r in mem.search("Ana", user_id="ana", as_of=later).results] == [
            "Ana lives in Porto"
        ]
        assert mem.search("Ana", user_id="ana", as_of="2019-01-01").results == []

    def test_delete_and_delete_all_touch_only_their_targets(self, contract_memory: Memory) -> None:
        """``delete`` removes one memory, ``delete_all`` one scope; nothing else changes.

        Fix: erase by id / by the full scope condition inside one transaction, and remove the
        rows from every read path (get, get_all, search, count, the vector index).
        """
        mem = contract_memory
        one = mem.add("Ana plays the violin", user_id="ana", infer=False).results[0].id
        two = mem.add("Ana plays chess", user_id="ana", agent_id="coach", infer=False).results[0]
        keep = mem.add("Bo plays the violin", user_id="bo", infer=False).results[0].id
        mem.delete(one)
        assert not exists(mem, one)
        assert one not in ids_of(mem.search("violin", user_id="ana", limit=50))
        assert mem.count(user_id="ana") == 1
        assert [e.event for e in mem.history(one)][-1] == "DELETE"
        with pytest.raises(NotFoundError):
            mem.delete(one)
        with pytest.raises(NotFoundError):
            mem.delete(str(uuid.uuid4()))
        assert mem.delete_all(user_id="ana")["deleted"] == 1
        assert not exists(mem, two.id)
        assert mem.count(user_id="ana") == 0
        assert mem.get(keep).memory == "Bo plays the violin"
        assert ids_of(mem.search("violin", user_id="bo")) == {keep}

    def test_batch_add_is_all_or_nothing(self, contract_memory: Memory) -> None:
        """A batch with one bad record writes nothing; a good batch writes every record.

        Fix: validate every record before opening the write transaction, and insert the batch
        in one transaction.
        """
        mem = contract_memory
        good = [{"text": f"fact {i} about herons", "user_id": "ana"} for i in range(4)]
        for bad in ({"text": "", "user_id": "ana"}, {"text": "x", "metadata": "not a dict"}):
            with pytest.raises(ValidationError):
                mem.batch_add([*good, bad])
            assert mem.count(user_id="ana") == 0
            assert mem.search("herons", user_id="ana").results == []
        done = mem.batch_add(good).results
        assert [r["memory"] for r in done] == [g["text"] for g in good]
        assert ids_of(mem.get_all(user_id="ana")) == {r["id"] for r in done}

    def test_batch_update_is_all_or_nothing(self, contract_memory: Memory) -> None:
        """A batch update failing on any item (unknown id, immutable) changes nothing.

        Fix: apply the whole batch in one transaction and roll it back on the first error,
        including versions, history and the vector/keyword index updates.
        """
        mem = contract_memory
        ids = _batch(mem, [f"heron {i}" for i in range(3)])
        frozen = mem.add("a fixed fact", user_id="ana", immutable=True, infer=False).results[0].id
        attempts: list[tuple[list[dict[str, Any]], type[Exception]]] = [
            (
                [
                    {"memory_id": ids[0], "text": "pelican zero"},
                    {"memory_id": str(uuid.uuid4()), "text": "x"},
                ],
                NotFoundError,
            ),
            (
                [
                    {"memory_id": ids[1], "text": "pelican one"},
                    {"memory_id": frozen, "text": "changed"},
                ],
                ImmutableMemoryError,
            ),
        ]
        for batch, error in attempts:
            with pytest.raises(error):
                mem.batch_update(batch)
            assert [mem.get(i).memory for i in ids] == ["heron 0", "heron 1", "heron 2"]
            assert all(len(mem.history(i)) == 1 for i in ids)
            hits = mem.search("pelican zero one", user_id="ana", limit=10).results
            assert not any("pelican" in h.memory for h in hits)
        assert mem.get(frozen).memory == "a fixed fact"
        mem.batch_update([{"memory_id": i, "text": f"pelican {n}"} for n, i in enumerate(ids)])
        assert [mem.get(i).memory for i in ids] == ["pelican 0", "pelican 1", "pelican 2"]
        assert mem.verify()["ok"]

    def test_batch_delete_is_all_or_nothing(self, contract_memory: Memory) -> None:
        """A batch delete naming one unknown id erases nothing.

        Fix: look every id up inside the erasing transaction before erasing any of them.
        """
        mem = contract_memory
        ids = _batch(mem, [f"owl {i}" for i in range(3)])
        with pytest.raises(NotFoundError):
            mem.batch_delete([ids[0], ids[1], str(uuid.uuid4())])
        assert all(exists(mem, i) for i in ids)
        assert ids_of(mem.search("owl", user_id="ana", limit=10)) == set(ids)
        mem.batch_delete(ids[:2])
        assert ids_of(mem.get_all(user_id="ana")) == {ids[2]}

    def test_erase_leaves_no_text_in_stored_bytes(self, contract_config: dict[str, Any]) -> None:
        """After ``delete``/``delete_all`` no byte the backend stores holds the erased text.

        Fix: erase the row, its versions, keyword terms, history texts and the scope's
        message window, and overwrite freed space (SQLite: ``secure_delete`` and a WAL
        checkpoint; a server database: no copy left in a table). ``stored_bytes`` must
        return every byte the backend keeps.
        """
        mem = self.open_memory(contract_config)  # closed (and reopened) below
        mid = (
            mem.add(
                f"My locker code is {SECRET}",
                user_id="victim",
                metadata={"note": SECRET_META},
                infer=False,
            )
            .results[0]
            .id
        )
        mem.update(mid, f"My locker code is now {SECRET_NEW}")
        mem.feedback(mid, "NEGATIVE", reason=f"stale: {SECRET_REASON}")
        rated = [e for e in mem.history(mid) if e.event == "FEEDBACK"]
        assert [(e.feedback, e.feedback_reason) for e in rated] == [
            ("NEGATIVE", f"stale: {SECRET_REASON}")
        ], "feedback must be kept in the memory's history"
        mem.add(f"again {SECRET} in a chat", user_id="victim", agent_id="bot", infer=False)
        keep = mem.add("The sky is blue", user_id="bystander", infer=False).results[0].id
        before = self.stored_bytes(contract_config)
        assert SECRET.encode() in before, "stored_bytes() does not see the stored text"
        assert mem.delete(mid)["erased_from_disk"] is True
        data = self.stored_bytes(contract_config)
        assert SECRET_NEW.encode() not in data
        assert SECRET_META.encode() not in data
        assert SECRET_REASON.encode() not in data
        assert all(e.old_memory is None and e.new_memory is None for e in mem.history(mid))
        assert all(e.feedback_reason is None for e in mem.history(mid))
        assert mem.delete_all(user_id="victim")["erased_from_disk"] is True
        assert SECRET.encode() not in self.stored_bytes(contract_config)
        assert mem.get(keep).memory == "The sky is blue"
        mem.close()
        for secret in (SECRET, SECRET_NEW, SECRET_META, SECRET_REASON):
            assert secret.encode() not in self.stored_bytes(contract_config)

    def test_async_api_round_trip(self, contract_config: dict[str, Any]) -> None:
        """``AsyncMemory`` opened from the same config adds, finds, updates and deletes.

        Fix: every ``AsyncMemory`` method must reach the backend exactly like its sync twin.
        """

        async def scenario() -> None:
            async with self.open_async(contract_config) as mem:
                mid = (await mem.add("Ana rows at dawn", user_id="ana", infer=False)).results[0].id
                found = await mem.search("rowing dawn", user_id="ana")
                assert [r.id for r in found.results] == [mid]
                await mem.update(mid, "Ana rows at dusk")
                assert (await mem.get(mid)).memory == "Ana rows at dusk"
                assert [e.event for e in await mem.history(mid)] == ["ADD", "UPDATE"]
                await mem.delete(mid)
                assert await mem.count(user_id="ana") == 0

        asyncio.run(scenario())
