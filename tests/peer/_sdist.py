"""Fetch a framework's own test files from its sdist at a pinned version (nothing vendored).

``pip download NAME==VERSION --no-binary :all: --no-deps`` brings the sdist from the package
index; only the requested members (test files) are extracted, into a cache directory outside
the repository: ``$MNEMOWEAVE_PEER_CACHE``, else ``~/.cache/mnemoweave-peer``. A second run
reuses the extracted files, so only the first run needs the package index.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

CACHE_ENV = "MNEMOWEAVE_PEER_CACHE"


def cache_root() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    return Path(os.path.expanduser("~")) / ".cache" / "mnemoweave-peer"


def fetch_test_files(dist: str, version: str, members: list[str]) -> Path:
    """The sdist root holding ``members`` (paths inside the sdist, e.g. ``tests/x.py``)."""
    root = cache_root() / f"{dist}-{version}"
    if all((root / m).is_file() for m in members):
        return root
    with tempfile.TemporaryDirectory(prefix="mnemoweave-peer-") as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                f"{dist}=={version}",
                "--no-binary",
                ":all:",
                "--no-deps",
                "-q",
                "-d",
                tmp,
            ],
            check=True,
            timeout=600,
        )
        (archive,) = [p for p in Path(tmp).iterdir() if p.name.endswith((".tar.gz", ".zip"))]
        with tarfile.open(archive) as tar:
            prefix = tar.getnames()[0].split("/", 1)[0]
            wanted = {f"{prefix}/{m}" for m in members}
            staged = Path(tmp) / "out"
            for info in tar.getmembers():
                if info.name in wanted and info.isfile():
                    info.name = info.name.removeprefix(prefix + "/")
                    tar.extract(info, staged, filter="data")
        missing = [m for m in members if not (staged / m).is_file()]
        if missing:
            raise FileNotFoundError(f"{dist} {version} sdist lacks {missing}")
        root.parent.mkdir(parents=True, exist_ok=True)
        final = Path(tempfile.mkdtemp(prefix=f"{dist}-", dir=root.parent))
        for m in members:
            target = final / m
            target.parent.mkdir(parents=True, exist_ok=True)
            (staged / m).replace(target)
        if root.exists():  # another run won the race, or an older partial copy
            import shutil

            shutil.rmtree(root, ignore_errors=True)
        final.replace(root)
    return root
