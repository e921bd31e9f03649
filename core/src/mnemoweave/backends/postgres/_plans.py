"""Reads written once for both the sync and the async pool: a *plan* is a generator that
yields statements and receives their rows, and returns the read's result.

:func:`run` drives a plan on a ``psycopg.Connection``, :func:`arun` on a
``psycopg.AsyncConnection``; the SQL and the decoding of rows live only in the plan.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any, TypeVar

import psycopg

T = TypeVar("T")
Rows = list[tuple[Any, ...]]
#: One statement and its parameters.
Step = tuple[str, Sequence[Any]]
Plan = Generator[Step, Rows, T]


def run(conn: psycopg.Connection, plan: Plan[T]) -> T:
    """Execute ``plan``'s statements on ``conn``, one after another; return its result."""
    try:
        query, params = next(plan)
        while True:
            rows = conn.execute(query, params).fetchall()
            query, params = plan.send(rows)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def arun(conn: psycopg.AsyncConnection, plan: Plan[T]) -> T:
    """The same on an async connection: the loop is free while each statement runs."""
    try:
        query, params = next(plan)
        while True:
            cursor = await conn.execute(query, params)
            query, params = plan.send(await cursor.fetchall())
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
