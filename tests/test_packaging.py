"""Every distribution of the suite ships the same version, licence and complete metadata.

The rules these tests pin are written down in docs/packaging.md; a new distribution is held to
them by adding its folder to ``MEMBERS``.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
# folder -> (distribution, import package)
MEMBERS = {
    "core": ("mnemoweave", "mnemoweave"),
    "adapters": ("mnemoweave-adapters", "mnemoweave_adapters"),
    "langchain_ext": ("mnemoweave-langchain", "mnemoweave_langchain"),
    "llamaindex_ext": ("mnemoweave-llamaindex", "mnemoweave_llamaindex"),
    "crewai_ext": ("mnemoweave-crewai", "mnemoweave_crewai"),
    "server": ("mnemoweave-server", "mnemoweave_server"),
}
SUITE = {dist for dist, _ in MEMBERS.values()}
VERSION_SOURCE = ROOT / "core" / "src" / "mnemoweave" / "_version.py"


def _suite_version() -> str:
    match = re.search(r'^__version__ = "([^"]+)"$', VERSION_SOURCE.read_text(), re.M)
    assert match, 'core/src/mnemoweave/_version.py must hold __version__ = "X.Y.Z"'
    return match.group(1)


def _pyproject(folder: str) -> dict:
    return tomllib.loads((ROOT / folder / "pyproject.toml").read_text(encoding="utf-8"))


def test_workspace_lists_every_member() -> None:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert set(MEMBERS) <= set(root["tool"]["uv"]["workspace"]["members"])


@pytest.mark.parametrize("folder", sorted(MEMBERS))
def test_version_comes_from_the_one_source(folder: str) -> None:
    dist, package = MEMBERS[folder]
    version = _suite_version()
    module = importlib.import_module(package)
    assert module.__version__ == version
    assert metadata.version(dist) == version, f"reinstall {folder}: its metadata is stale"
    project = _pyproject(folder)
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    local = ROOT / folder / "src" / package / "_version.py"
    assert project["tool"]["hatch"]["version"]["path"] == f"src/{package}/_version.py"
    assert local.resolve() == VERSION_SOURCE


@pytest.mark.parametrize("folder", sorted(MEMBERS))
def test_internal_dependencies_admit_the_suite_version_and_come_from_the_workspace(
    folder: str,
) -> None:
    project = _pyproject(folder)
    internal = [
        Requirement(line)
        for line in project["project"].get("dependencies", [])
        if Requirement(line).name in SUITE
    ]
    for requirement in internal:
        assert requirement.specifier.contains(_suite_version()), str(requirement)
    sources = project.get("tool", {}).get("uv", {}).get("sources", {})
    assert {r.name for r in internal} == set(sources)
    assert all(source == {"workspace": True} for source in sources.values())


@pytest.mark.parametrize("folder", sorted(MEMBERS))
def test_licence_and_metadata_are_complete(folder: str) -> None:
    project = _pyproject(folder)["project"]
    assert (ROOT / folder / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")[:200]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert project["readme"] == "README.md"
    assert project["requires-python"].startswith(">=3.11")
    assert project["authors"]
    assert project["keywords"]
    classifiers = set(project["classifiers"])
    for minor in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {minor}" in classifiers
    assert "Typing :: Typed" in classifiers
    # PEP 639: the licence is the License-Expression; PyPI refuses licence classifiers with it.
    assert not [c for c in classifiers if c.startswith("License ::")]
    assert {"Homepage", "Documentation", "Repository", "Issues", "Changelog"} <= set(
        project["urls"]
    )
    _, package = MEMBERS[folder]
    assert (ROOT / folder / "src" / package / "py.typed").is_file()


@pytest.mark.parametrize("folder", sorted(MEMBERS))
def test_installed_metadata_carries_the_licence(folder: str) -> None:
    dist, _ = MEMBERS[folder]
    info = metadata.metadata(dist)
    assert info["License-Expression"] == "Apache-2.0"
    assert "Typing :: Typed" in info.get_all("Classifier")


@pytest.mark.parametrize("folder", sorted(MEMBERS))
def test_package_readme_stands_alone(folder: str) -> None:
    """PyPI shows the README without the repository: no relative links, and an install line."""
    dist, _ = MEMBERS[folder]
    text = (ROOT / folder / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)]+)\)", text)
    assert all(link.startswith("https://") for link in links), links
    assert f"pip install {dist}" in text or f'pip install "{dist}[' in text


def test_changelog_has_an_entry_for_this_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[?{re.escape(_suite_version())}\]?", text, re.M)
    assert re.search(r"^## \[?0\.1\.0\]?", text, re.M)
