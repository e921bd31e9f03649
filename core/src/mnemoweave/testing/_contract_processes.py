"""Contract tests with OS processes: concurrent writers, and SIGKILL in the middle of writes."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from mnemoweave import Memory

from ._backend_worker import BATCH, text
from ._children import Child
from ._contract_base import ContractBase, exists, ids_of

WRITES = 120


def _acknowledged(child: Child) -> dict[str, str]:
    """``{memory id: key}`` for every ``id`` line the child completed."""
    out = {}
    for line in child.completed():
        if line.startswith("id "):
            _, mid, key = line.split(" ", 2)
            out[mid] = key
    return out


class ProcessContract(ContractBase):
    """What a backend must guarantee when several processes use one store, or one dies."""

    def test_two_processes_writing_at_once_lose_nothing(
        self, contract_config: dict[str, Any], contract_children: Callable[..., Child]
    ) -> None:
        """Two processes adding to one store at the same time both keep every write.

        Fix: serialise writers in the database (SQLite: WAL, ``busy_timeout``, one write
        transaction at a time) instead of in process memory; allocate ids and row numbers
        inside the write transaction; catch up the vector index with other processes' writes.
        """
        if not self.shared_by_processes:
            pytest.skip("backend is not shared by processes (shared_by_processes=False)")
        self.open_memory(contract_config).close()  # create the store once
        writers = {
            tag: contract_children("write", contract_config, tag, str(WRITES)) for tag in "ab"
        }
        for child in writers.values():
            child.expect("ready")
        for child in writers.values():
            child.send("go\n")
        for child in writers.values():
            assert child.finish() == 0, child.stderr()
        with self.open_memory(contract_config) as mem:
            assert mem.verify()["ok"]
            for tag, child in writers.items():
                acked = _acknowledged(child)
                assert len(acked) == WRITES
                assert ids_of(mem.get_all(user_id=f"user-{tag}", limit=1000)) == set(acked)
                for mid, key in list(acked.items())[::17]:
                    assert mem.get(mid).memory == text(tag, key)
                    hit = mem.search(text(tag, key), user_id=f"user-{tag}", limit=1).results
                    assert hit[0].id == mid

    def test_sigkill_mid_write_keeps_every_acknowledged_write(
        self, contract_config: dict[str, Any], contract_children: Callable[..., Child]
    ) -> None:
        """A writer killed with SIGKILL at a random moment loses no write whose call returned;
        an unacknowledged ``batch_add`` is there completely or not at all; the store verifies.

        Fix: commit (durably for the configured level) before ``add``/``batch_add`` return,
        one transaction per call; rebuild derived indexes from the database on open.
        """
        if sys.platform == "win32":
            pytest.skip("SIGKILL is POSIX only")
        rng = random.Random(2024)
        acked: dict[str, tuple[str, str]] = {}
        for round_ in range(3):
            tag = f"k{round_}"
            child = contract_children("crash", contract_config, tag)
            child.expect("ready")
            child.expect("id ", count=rng.randint(4, 20))
            time.sleep(rng.uniform(0, 0.01))  # let the kill land anywhere in the next write
            child.kill()
            acked.update({mid: (tag, key) for mid, key in _acknowledged(child).items()})
            with self.open_memory(contract_config) as mem:
                self._check_after_crash(mem, acked)
        with self.open_memory(contract_config) as mem:
            mid = mem.add("written after the crashes", user_id="crash-user", infer=False)
            assert exists(mem, mid.results[0].id)
            assert mem.verify()["ok"]

    @staticmethod
    def _check_after_crash(mem: Memory, acked: dict[str, tuple[str, str]]) -> None:
        assert mem.verify()["ok"]
        missing = [mid for mid in acked if not exists(mem, mid)]
        assert missing == [], f"acknowledged writes lost: {missing}"
        for mid, (tag, key) in acked.items():
            assert mem.get(mid).memory == text(tag, key)
        batches: dict[str, int] = {}
        for item in mem.get_all(user_id="crash-user", limit=10_000).results:
            batch = item.metadata.get("batch")
            if batch is not None:
                key = f"{item.memory.split()[0]}:{batch}"
                batches[key] = batches.get(key, 0) + 1
        torn = {key: n for key, n in batches.items() if n != BATCH}
        assert torn == {}, f"batch_add partly stored: {torn}"
