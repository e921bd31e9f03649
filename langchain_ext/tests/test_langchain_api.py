"""The public surface of mnemoweave_langchain is pinned: changing it is a deliberate act."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

import mnemoweave_langchain


def test_all_is_pinned_and_sorted() -> None:
    assert mnemoweave_langchain.__all__ == [
        "LangChainEmbedder",
        "MissingUserError",
        "MnemoweaveChatMessageHistory",
        "MnemoweaveMiddleware",
        "MnemoweaveRetriever",
        "MnemoweaveStore",
        "__version__",
        "langchain_embedder",
        "memory_tools",
    ]
    assert mnemoweave_langchain.__all__ == sorted(mnemoweave_langchain.__all__)


EXTRAS = {"MnemoweaveStore": "langgraph", "MnemoweaveMiddleware": "langchain"}


def test_every_public_name_resolves() -> None:
    """Names behind an extra resolve when it is installed, else say how to install it."""
    for name in mnemoweave_langchain.__all__:
        needs = EXTRAS.get(name)
        if needs is None or importlib.util.find_spec(needs) is not None:
            assert getattr(mnemoweave_langchain, name) is not None
        else:
            with pytest.raises(ImportError, match=r"pip install 'mnemoweave-langchain\["):
                getattr(mnemoweave_langchain, name)
    assert set(mnemoweave_langchain.__all__) <= set(dir(mnemoweave_langchain))


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        mnemoweave_langchain.NoSuchThing  # noqa: B018


def test_store_and_middleware_load_lazily() -> None:
    """Importing the package needs only langchain-core; the extras load on first use."""
    code = (
        "import sys, mnemoweave_langchain\n"
        "print(sorted(m for m in ('langgraph', 'langchain') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(mnemoweave_langchain.__dict__, "MnemoweaveStore", raising=False)
    for name in [m for m in sys.modules if m.startswith(("langgraph", "mnemoweave_langchain._s"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "langgraph", None)
    with pytest.raises(ImportError, match=r"mnemoweave-langchain\[langgraph\]"):
        mnemoweave_langchain.MnemoweaveStore  # noqa: B018
