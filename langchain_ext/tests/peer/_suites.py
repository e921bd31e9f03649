"""Frameworks' own test files, fetched from their sdists at pinned versions and run on our classes.

Nothing is vendored: :func:`suite_file` downloads the sdist once with pip into a cache
directory outside the repository's sources (``$MNEMOWEAVE_PEER_CACHE``, default
``<repo>/.cache/peer-suites``) and extracts its ``tests/`` folder. :func:`load_suite`
imports one test file and swaps the names that build the framework's store for ours -- the
only adaptation. :func:`export` copies its tests and fixtures into the calling test module,
marking the deliberate differences ``xfail(strict=True)`` with their reason (so a test that
starts passing is noticed) and leaving out tests of the framework's private helpers.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tarfile
import tempfile
import types
from collections.abc import Mapping
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
_PIP_DOWNLOAD = (sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:")


def cache_dir() -> Path:
    return Path(os.environ.get("MNEMOWEAVE_PEER_CACHE") or REPO / ".cache" / "peer-suites")


def suite_file(dist: str, version: str, relpath: str) -> Path:
    """``relpath`` inside the sdist of ``dist==version`` (downloaded and unpacked on first use)."""
    root = cache_dir() / f"{dist}-{version}"
    if not root.is_dir():
        root.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
            subprocess.run(
                [*_PIP_DOWNLOAD, f"{dist}=={version}", "-d", tmp],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            (archive,) = Path(tmp).glob("*.tar.gz")
            unpacked = Path(tmp) / "unpacked"
            with tarfile.open(archive) as tar:
                members = [m for m in tar.getmembers() if "/tests/" in m.name and m.isfile()]
                tar.extractall(unpacked, members=members, filter="data")
            (top,) = unpacked.iterdir()
            os.replace(top, root)  # atomic: a half-extracted suite is never seen
    path = root / relpath
    if not path.is_file():
        raise FileNotFoundError(f"{dist}=={version} sdist has no {relpath}")
    return path


def load_suite(
    path: Path,
    name: str,
    *,
    replace: Mapping[str, Any],
    provides: Mapping[str, types.ModuleType] | None = None,
) -> types.ModuleType:
    """Import the test file at ``path`` as module ``name``, then set ``replace``'s names in it.

    ``provides`` maps module names the file imports (``tests.test_store``) to modules to
    serve for them while it is imported.
    """
    spec = spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = module_from_spec(spec)
    saved = {key: sys.modules.get(key) for key in provides or {}}
    try:
        for key, value in (provides or {}).items():
            sys.modules[key] = value
        spec.loader.exec_module(module)
    finally:
        for key, old in saved.items():
            if old is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = old
    for key, value in replace.items():
        setattr(module, key, value)
    return module


def package(name: str, **children: types.ModuleType) -> types.ModuleType:
    """A stand-in package module holding ``children`` (for ``from tests.x import y``)."""
    pkg = types.ModuleType(name)
    pkg.__path__ = []
    for child, module in children.items():
        setattr(pkg, child, module)
    return pkg


def _is_fixture(obj: Any) -> bool:
    return type(obj).__name__ == "FixtureFunctionDefinition" or hasattr(
        obj, "_pytestfixturefunction"
    )


def export(
    module: types.ModuleType,
    into: dict[str, Any],
    *,
    differences: Mapping[str, str],
    not_applicable: Mapping[str, str],
) -> None:
    """Copy ``module``'s tests and fixtures into the namespace ``into`` (a test module's).

    ``differences`` (test name, or ``Class.method``) -> why our store deliberately differs:
    marked ``xfail(strict=True)``. ``not_applicable`` -> why a test is not about a store's
    behaviour (the framework's private helpers): left out.
    """
    for key, obj in vars(module).items():
        if _is_fixture(obj):
            into[key] = obj
        elif key in not_applicable:
            continue
        elif key.startswith("test_") and callable(obj):
            cases = _cases(differences, key)
            into[key] = _mark_cases(obj, cases) if cases else _mark(obj, differences.get(key))
        elif key.startswith("Test") and isinstance(obj, type):
            attrs: dict[str, Any] = {}
            for attr, member in vars(obj).items():
                qual = f"{key}.{attr}"
                if attr.startswith("test_"):
                    skip = qual in not_applicable  # None: pytest does not collect it
                    attrs[attr] = None if skip else _mark(member, differences.get(qual))
            into[key] = type(key, (obj,), attrs)
    names = {n.split("[")[0].split(".")[0] for n in {**differences, **not_applicable}}
    missing = sorted(n for n in names if n not in vars(module))
    if missing:
        raise LookupError(f"{module.__name__} has no tests named {missing}")


def _cases(differences: Mapping[str, str], name: str) -> dict[str, str]:
    """``name[value]`` keys: the parameter values for which the test deliberately differs."""
    prefix = f"{name}["
    return {k[len(prefix) : -1]: why for k, why in differences.items() if k.startswith(prefix)}


def _mark_cases(func: Any, cases: Mapping[str, str]) -> Any:
    """Strict xfail for the calls whose parameters include one of ``cases``' values only."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        given = {str(v) for v in kwargs.values() if isinstance(v, str | int | float)}
        reason = next((why for value, why in cases.items() if value in given), None)
        if reason is None:
            return func(*args, **kwargs)
        try:
            func(*args, **kwargs)
        except Exception:
            pytest.xfail(reason)
        raise AssertionError(f"expected to differ ({reason}), but it passed: drop the difference")

    return run


def _mark(func: Any, reason: str | None) -> Any:
    if reason is None:
        return func
    return pytest.mark.xfail(reason=reason, strict=True)(func)
