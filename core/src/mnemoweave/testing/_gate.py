"""``WriteGate``: hold background adds back until a reader is seen waiting for them.

Read-your-writes (``Memory.search``/``get_all`` wait for this process's pending background
adds of their scope) is tested without timing: the gate's embedder blocks embeddings made on
mnemoweave's background-add threads while the gate is closed; :meth:`WriteGate.open_when_read_waits`
opens it only once some thread is inside the read's wait. Without read-your-writes the read
never waits, so it runs while the add is still held back, and misses it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

import numpy as np

from mnemoweave.embed import HashEmbedder

_WORKER_PREFIX = "mnemoweave-add"
_WAIT_FRAME = "await_writes"


class WriteGate:
    """A closed gate plus a deterministic embedder (``gate.embedder``) that obeys it."""

    def __init__(self, dim: int = 384) -> None:
        self._open = threading.Event()
        self.held = threading.Event()  # set once a background embedding reached the gate
        self.embedder = _GatedEmbedder(self, dim)

    def open(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._open.clear()

    def _pass(self, timeout: float) -> None:
        if threading.current_thread().name.startswith(_WORKER_PREFIX):
            self.held.set()
            self._open.wait(timeout)

    @contextmanager
    def open_when_read_waits(self, deadline: float = 60.0) -> Iterator[None]:
        """Inside the block, open the gate as soon as a thread waits for pending adds.

        On leaving the block the gate opens anyway (so nothing stays blocked), after the
        block's reads have finished.
        """
        done = threading.Event()

        def watch() -> None:
            end = time.monotonic() + deadline
            while not done.is_set() and time.monotonic() < end:
                if _someone_waits():
                    self.open()
                    return
                time.sleep(0.002)

        watcher = threading.Thread(target=watch, name="mnemoweave-gate-watch", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()
            self.open()


def _someone_waits() -> bool:
    for frame in sys._current_frames().values():
        current: FrameType | None = frame
        while current is not None:
            if current.f_code.co_name == _WAIT_FRAME:
                return True
            current = current.f_back
    return False


class _GatedEmbedder(HashEmbedder):
    """``HashEmbedder`` whose background-thread calls wait at the gate (up to 120 s)."""

    def __init__(self, gate: WriteGate, dim: int) -> None:
        super().__init__(dim)
        self._gate = gate

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self._gate._pass(120.0)
        return super().embed(texts)
