"""Calling coroutines from sync code and sync code from coroutines, safely.

Frameworks call adapters both ways; ``run_sync`` runs a coroutine to completion even when
the calling thread already runs an event loop (it then uses a short-lived worker thread).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run the coroutine made by ``factory()`` and return its result, from any thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(factory))
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(_await(factory))
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=worker, name="mnemoweave-run-sync", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


async def _await(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


async def run_async(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking ``fn`` in a worker thread so the event loop keeps going."""
    return await asyncio.to_thread(fn, *args, **kwargs)
