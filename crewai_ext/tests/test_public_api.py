"""The public facade is small, sorted and pinned; the package ships its type marker."""

from __future__ import annotations

from importlib import resources

import mnemoweave_crewai
from mnemoweave_adapters import discover

EXPECTED = [
    "ANCESTORS_KEY",
    "EmbeddingDimensionMismatchError",
    "ID_KEY",
    "IMPORTANCE_KEY",
    "MnemoweaveCrewMemory",
    "MnemoweaveEmbedder",
    "MnemoweaveMatch",
    "MnemoweaveSaveTool",
    "MnemoweaveSearchTool",
    "MnemoweaveStorage",
    "PRIVATE_KEY",
    "RESERVED_KEYS",
    "SCOPE_KEY",
    "SOURCE_KEY",
    "__version__",
    "mnemoweave_memory",
    "mnemoweave_tools",
]


def test_all_is_pinned_and_sorted() -> None:
    assert mnemoweave_crewai.__all__ == EXPECTED
    assert mnemoweave_crewai.__all__ == sorted(mnemoweave_crewai.__all__)
    for name in EXPECTED:
        assert getattr(mnemoweave_crewai, name) is not None


def test_reserved_keys_are_the_documented_ones() -> None:
    documented = {
        "crewai_scope",
        "crewai_scopes",
        "crewai_importance",
        "crewai_source",
        "crewai_private",
        "crewai_id",
        "crewai_embedding",
        "crewai_embedding_dim",
        "crewai_last_accessed",
    }
    assert documented == mnemoweave_crewai.RESERVED_KEYS


def test_py_typed_is_shipped() -> None:
    assert resources.files("mnemoweave_crewai").joinpath("py.typed").is_file()


def test_entry_point_loads_the_memory_class() -> None:
    (info,) = [i for i in discover(load=True) if i.name == "crewai"]
    assert (info.error, info.loaded) == (None, True)
    assert info.target == "mnemoweave_crewai:MnemoweaveCrewMemory"
    assert info.distribution == "mnemoweave-crewai"
