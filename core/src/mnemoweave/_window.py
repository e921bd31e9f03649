"""The message-window part of the public API, and the handle of a background add.

Every scope keeps its recent raw messages (chat history, and the source of facts for
``delete(..., source=True)``); ``Memory`` and its async twin expose them through these.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from . import _adding
from . import _validate as check
from ._time import to_datetime
from .types import AddResult

if TYPE_CHECKING:
    from ._engine import Engine
    from .config import MemoryConfig


class AddHandle:
    """The pending result of ``add(..., background=True)``; errors surface on ``result()``."""

    def __init__(self, future: Future[AddResult]) -> None:
        self._future = future

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> AddResult:
        """Wait for the add and return its result (re-raising its error, if any)."""
        return self._future.result(check.timeout(timeout))

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return self._future.exception(check.timeout(timeout))


class MessageWindow:
    """``get_messages`` / ``append_messages`` / ``clear_messages`` over ``self._engine``."""

    _engine: Engine
    config: MemoryConfig

    # -- message window ----------------------------------------------------------------------
    def get_messages(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The exact scope's recent raw messages, oldest first (``limit`` keeps the newest)."""
        scope = check.scope_ids(user_id, agent_id, run_id)
        ids = (scope.get("user_id"), scope.get("agent_id"), scope.get("run_id"))
        cap = self.config.message_window if limit is None else check.positive_int(limit, "limit")
        with self._engine.backend.read() as reader:
            rows = reader.messages(ids, cap)
        out = []
        for role, content, name, created in rows:
            msg: dict[str, Any] = {"role": role, "content": content}
            msg["created_at"] = to_datetime(created)
            if name:
                msg["name"] = name
            out.append(msg)
        return out

    def append_messages(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Add messages to the scope's window only (no memories are created)."""
        scope = check.scope_ids(user_id, agent_id, run_id)
        _adding.record_window(self._engine, _adding.window_request(self._engine, messages, scope))

    def clear_messages(
        self, *, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None
    ) -> int:
        """Erase the exact scope's raw message window; memories are kept."""
        scope = check.scope_ids(user_id, agent_id, run_id)
        with self._engine.backend.write() as w:
            return w.erase_window(
                (scope.get("user_id"), scope.get("agent_id"), scope.get("run_id"))
            )
