"""The distribution's public surface: facade, entry points, typing marker, dependency range."""

from __future__ import annotations

import tomllib
from importlib import resources
from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import mnemoweave_llamaindex
from mnemoweave_adapters import discover

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_public_api_is_pinned_and_sorted() -> None:
    assert mnemoweave_llamaindex.__all__ == [
        "MnemoweaveMemory",
        "MnemoweaveMemoryBlock",
        "__version__",
    ]
    assert mnemoweave_llamaindex.__all__ == sorted(mnemoweave_llamaindex.__all__)
    for name in mnemoweave_llamaindex.__all__:
        assert hasattr(mnemoweave_llamaindex, name)


def test_entry_points_load() -> None:
    found = {info.name: info for info in discover(load=True)}
    for name in ("llamaindex", "llamaindex-block"):
        assert found[name].distribution == "mnemoweave-llamaindex"
        assert found[name].error is None


def test_typed_marker_ships() -> None:
    assert resources.files("mnemoweave_llamaindex").joinpath("py.typed").is_file()


def test_llamaindex_range_is_declared_once_and_bounded() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    deps = project["dependencies"]
    llama = [d for d in deps if d.startswith("llama-index")]
    assert llama == ["llama-index-core>=0.14,<0.15"]
    suite = [Requirement(d) for d in deps if d.startswith("mnemoweave")]
    assert sorted(r.name for r in suite) == ["mnemoweave", "mnemoweave-adapters"]
    assert all(r.specifier.contains(mnemoweave_llamaindex.__version__) for r in suite)
    installed = [Requirement(r) for r in distribution("mnemoweave-llamaindex").requires or []]
    core = [r for r in installed if r.name == "llama-index-core"]
    assert [str(r.specifier) for r in core] == [str(SpecifierSet(">=0.14,<0.15"))]
