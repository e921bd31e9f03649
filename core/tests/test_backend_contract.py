"""The SQLite backend runs the backend contract suite (``mnemoweave.testing``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mnemoweave.testing import BackendContractTests


class TestSQLiteBackend(BackendContractTests):
    @pytest.fixture
    def memory_config(self, tmp_path: Path) -> dict[str, Any]:
        return {"path": str(tmp_path / "store"), "embedder": "hash"}
