"""langchain-tests 1.1.9's standard retriever and tool suites on our retriever and memory tools.

The suites are the package's own test classes, used as LangChain intends: subclass, point
the properties at our classes, and inherit every test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

pytest.importorskip("langchain_tests")

from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import RetrieversIntegrationTests, ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from mnemoweave import Memory
from mnemoweave_adapters import MemoryBinding
from mnemoweave_langchain import MnemoweaveRetriever, memory_tools

pytestmark = pytest.mark.anyio

FACTS = [f"Coffee note {i}: the user drinks espresso at {7 + i} am" for i in range(6)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def binding(tmp_path: Path) -> Any:
    memory = Memory(tmp_path / "standard", embedder="hash")
    memory.batch_add([{"text": fact, "user_id": "ann"} for fact in FACTS])
    yield MemoryBinding(memory, user_id="ann")
    memory.close()


class TestRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _bind(self, binding: MemoryBinding) -> None:
        self.binding = binding

    @property
    def retriever_constructor(self) -> type[MnemoweaveRetriever]:
        return MnemoweaveRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"binding": self.binding}

    @property
    def retriever_query_example(self) -> str:
        return "espresso"


class _ToolSuite:
    name = ""
    example: ClassVar[dict[str, Any]] = {}

    @pytest.fixture(autouse=True)
    def _bind(self, binding: MemoryBinding) -> None:
        tools = {t.name: t for t in memory_tools(binding, allow_delete=True)}
        self.instance = tools[self.name]

    @property
    def tool_constructor(self) -> BaseTool:
        return self.instance

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return self.example


class _Save(_ToolSuite):
    name, example = "save_memory", {"content": "The user prefers window seats"}


class _Search(_ToolSuite):
    name, example = "search_memory", {"query": "espresso", "limit": 2}


class _List(_ToolSuite):
    name, example = "list_memories", {"limit": 3}


class _Delete(_ToolSuite):
    name, example = "delete_memory", {"memory_id": "00000000-0000-4000-8000-000000000000"}


class TestSaveToolUnit(_Save, ToolsUnitTests):
    pass


class TestSaveToolIntegration(_Save, ToolsIntegrationTests):
    pass


class TestSearchToolUnit(_Search, ToolsUnitTests):
    pass


class TestSearchToolIntegration(_Search, ToolsIntegrationTests):
    pass


class TestListToolUnit(_List, ToolsUnitTests):
    pass


class TestListToolIntegration(_List, ToolsIntegrationTests):
    pass


class TestDeleteToolUnit(_Delete, ToolsUnitTests):
    pass


class TestDeleteToolIntegration(_Delete, ToolsIntegrationTests):
    pass
