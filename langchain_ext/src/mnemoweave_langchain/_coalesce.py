"""Coalescing concurrent ``abatch`` calls of one store into one worker-thread batch.

LangGraph code often fires many ``aput`` / ``aget`` at once (``asyncio.gather``). Run one by
one, each put would embed its text alone and commit alone. The coalescer queues the calls
made on one event loop while a batch is running and hands the next batch everything that
queued up: one embedding call and one transaction for all their puts, shared reads. A
batch's reads see the state before its writes, exactly as one ``batch(ops)`` call does, and
a later call's put to a key wins over an earlier one's -- the order the calls were made in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

Runner = Callable[[list[Any]], list[Any]]


class Coalescer:
    """Per event loop: queue ``abatch`` calls, run them in combined worker-thread batches.

    ``run(ops)`` executes a list of ops synchronously (the store's ``batch``); ``max_ops``
    bounds one combined batch. A failing combined batch is retried call by call, so an
    error reaches only the caller whose ops caused it.
    """

    def __init__(self, run: Runner, *, max_ops: int = 4096) -> None:
        self._run = run
        self._max_ops = max_ops
        self._queue: list[tuple[list[Any], asyncio.Future[list[Any]]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, ops: Sequence[Any]) -> list[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        self._queue.append((list(ops), future))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let the other ready tasks queue their calls first
        while self._queue:
            group = self._take()
            await self._execute(group)

    def _take(self) -> list[tuple[list[Any], asyncio.Future[list[Any]]]]:
        group: list[tuple[list[Any], asyncio.Future[list[Any]]]] = []
        size = 0
        while self._queue and (not group or size + len(self._queue[0][0]) <= self._max_ops):
            entry = self._queue.pop(0)
            group.append(entry)
            size += len(entry[0])
        return group

    async def _execute(self, group: list[tuple[list[Any], asyncio.Future[list[Any]]]]) -> None:
        live = [(ops, fut) for ops, fut in group if not fut.done()]  # cancelled callers drop out
        if not live:
            return
        combined = [op for ops, _ in live for op in ops]
        try:
            results = await asyncio.to_thread(self._run, combined)
        except BaseException as exc:
            if len(live) == 1 or not isinstance(exc, Exception):
                _fail(live[0][1], exc)
                for _, fut in live[1:]:
                    _fail(fut, exc)
                return
            for ops, fut in live:  # find whose ops failed: run each call on its own
                try:
                    _succeed(fut, await asyncio.to_thread(self._run, ops))
                except Exception as own:
                    _fail(fut, own)
            return
        start = 0
        for ops, fut in live:
            _succeed(fut, results[start : start + len(ops)])
            start += len(ops)


def _succeed(future: asyncio.Future[list[Any]], value: list[Any]) -> None:
    if not future.done():
        future.set_result(value)


def _fail(future: asyncio.Future[list[Any]], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
