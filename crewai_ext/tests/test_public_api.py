"""The public facade is small, sorted and pinned; the package ships its type marker."""

from __future__ import annotations

from importlib import resources

import memweave_crewai
from memweave_adapters import discover

EXPECTED = [
    "ANCESTORS_KEY",
    "ID_KEY",
    "IMPORTANCE_KEY",
    "MemweaveCrewMemory",
    "MemweaveEmbedder",
    "MemweaveMatch",
    "MemweaveSaveTool",
    "MemweaveSearchTool",
    "MemweaveStorage",
    "PRIVATE_KEY",
    "RESERVED_KEYS",
    "SCOPE_KEY",
    "SOURCE_KEY",
    "memweave_memory",
    "memweave_tools",
]


def test_all_is_pinned_and_sorted() -> None:
    assert memweave_crewai.__all__ == EXPECTED
    assert memweave_crewai.__all__ == sorted(memweave_crewai.__all__)
    for name in EXPECTED:
        assert getattr(memweave_crewai, name) is not None


def test_reserved_keys_are_the_documented_ones() -> None:
    documented = {
        "crewai_scope",
        "crewai_scopes",
        "crewai_importance",
        "crewai_source",
        "crewai_private",
        "crewai_id",
    }
    assert documented == memweave_crewai.RESERVED_KEYS


def test_py_typed_is_shipped() -> None:
    assert resources.files("memweave_crewai").joinpath("py.typed").is_file()


def test_entry_point_loads_the_memory_class() -> None:
    (info,) = [i for i in discover(load=True) if i.name == "crewai"]
    assert (info.error, info.loaded) == (None, True)
    assert info.target == "memweave_crewai:MemweaveCrewMemory"
    assert info.distribution == "memweave-crewai"
