"""A pytest fixture for :class:`~memweave.testing.ScriptedOpenAIServer`.

Enable it in your root ``conftest.py`` with ``pytest_plugins = ["memweave.testing.pytest_plugin"]``
(or ``pytest -p memweave.testing.pytest_plugin``), then ask for ``scripted_openai_server``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._server import ScriptedOpenAIServer

__all__ = ["scripted_openai_server"]


@pytest.fixture
def scripted_openai_server() -> Iterator[ScriptedOpenAIServer]:
    """A started server with an empty script, stopped after the test."""
    with ScriptedOpenAIServer() as server:
        yield server
