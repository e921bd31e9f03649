"""``add`` is typed by its ``background`` argument; mypy checks the ``assert_type`` lines.

CI runs ``mypy --strict`` on this file (see ``.ci/typecheck.sh``), so a wrong overload fails
there; at run time the same calls prove the annotations match what ``add`` returns.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import assert_type

from mnemoweave import AddHandle, AddResult, AsyncAddHandle, AsyncMemory, Memory


def test_memory_add_types_follow_background(tmp_path: Path) -> None:
    with Memory(tmp_path / "sync", embedder="hash") as memory:
        result = assert_type(memory.add("Likes tea", user_id="u"), AddResult)
        assert isinstance(result, AddResult)
        explicit = assert_type(memory.add("Likes jam", user_id="u", background=False), AddResult)
        assert isinstance(explicit, AddResult)
        handle = assert_type(memory.add("Likes figs", user_id="u", background=True), AddHandle)
        assert isinstance(handle, AddHandle)
        assert isinstance(handle.result(timeout=60), AddResult)
        flag: bool = bool(len("x"))
        either = assert_type(
            memory.add("Likes oats", user_id="u", background=flag), AddResult | AddHandle
        )
        assert isinstance(either, AddHandle)


def test_async_memory_add_types_follow_background(tmp_path: Path) -> None:
    async def main() -> None:
        memory = AsyncMemory(tmp_path / "async", embedder="hash")
        try:
            result = assert_type(await memory.add("Likes tea", user_id="u"), AddResult)
            assert isinstance(result, AddResult)
            handle = assert_type(
                await memory.add("Likes figs", user_id="u", background=True), AsyncAddHandle
            )
            assert isinstance(handle, AsyncAddHandle)
            assert isinstance(await handle.result(), AddResult)
        finally:
            await memory.close()

    asyncio.run(main())
