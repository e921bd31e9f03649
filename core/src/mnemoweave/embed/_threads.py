"""Thread helpers for the local embedder: a shared worker pool and a BLAS single-thread window.

The local embedder runs independent batches in parallel threads. That only pays when BLAS
itself runs single-threaded meanwhile (its own workers would otherwise compete for the same
cores and spin while numpy's single-threaded element-wise kernels run), so parallel batches
run inside :func:`single_threaded_blas`, which is re-entrant across threads: the first
entrant lowers the BLAS thread count, the last one to leave restores it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

__all__ = ["default_threads", "pool", "single_threaded_blas"]

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_MAX_DEFAULT_THREADS = 8

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_blas_depth = 0
_blas_limiter: Any = None
_controller: Any = None


def _reset_after_fork() -> None:
    # A forked child has none of the parent's threads: a pool inherited from it would accept
    # work that nothing ever runs, and a BLAS window held by a parent thread never closes.
    global _lock, _pool, _pool_size, _blas_depth, _blas_limiter
    _lock = threading.Lock()
    _pool, _pool_size, _blas_depth, _blas_limiter = None, 0, 0, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def default_threads() -> int:
    """What BLAS was told to use (``OPENBLAS_NUM_THREADS`` etc.), else the usable CPUs (≤ 8)."""
    for name in _THREAD_VARS:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_DEFAULT_THREADS))


def pool(workers: int) -> ThreadPoolExecutor:
    """A process-wide pool with at least ``workers`` threads, created on first use."""
    global _pool, _pool_size
    with _lock:
        if _pool is None or workers > _pool_size:
            old = _pool
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="mnemoweave-embed")
            _pool_size = workers
            if old is not None:
                old.shutdown(wait=False)
        return _pool


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with BLAS limited to one thread (restored when the last user leaves)."""
    global _blas_depth, _blas_limiter, _controller
    with _lock:
        if _blas_depth == 0:
            from threadpoolctl import ThreadpoolController

            if _controller is None:
                _controller = ThreadpoolController()
            _blas_limiter = _controller.limit(limits=1, user_api="blas")
        _blas_depth += 1
    try:
        yield
    finally:
        with _lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None
