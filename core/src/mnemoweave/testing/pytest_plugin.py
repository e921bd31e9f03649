"""A pytest fixture for :class:`~mnemoweave.testing.ScriptedOpenAIServer`.

Enable it in your root ``conftest.py`` with
``pytest_plugins = ["mnemoweave.testing.pytest_plugin"]`` (or
``pytest -p mnemoweave.testing.pytest_plugin``), then ask for ``scripted_openai_server``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._network import NetworkGuard
from ._server import ScriptedOpenAIServer

__all__ = ["no_network", "scripted_openai_server"]


@pytest.fixture
def scripted_openai_server() -> Iterator[ScriptedOpenAIServer]:
    """A started server with an empty script, stopped after the test."""
    with ScriptedOpenAIServer() as server:
        yield server


@pytest.fixture
def no_network() -> Iterator[NetworkGuard]:
    """Every non-loopback connection or DNS lookup fails; ``.attempts`` lists them."""
    with NetworkGuard() as guard:
        yield guard
