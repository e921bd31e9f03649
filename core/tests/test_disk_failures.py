"""A damaged database, a read-only directory, a full disk: clear StorageErrors, nothing lost.

The read-only directory and the full disk are real: a read-only bind mount and a small tmpfs in
a private mount namespace (``unshare -rm``), or, where namespaces are unavailable, file
permissions (non-root) and ``RLIMIT_FSIZE`` (every file write past the limit fails) in a child.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mnemoweave import Memory, StorageError

DEADLINE = 180.0


@functools.cache
def _namespaces() -> bool:
    """Whether this machine lets us mount in a private user and mount namespace."""
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def _run(command: list[str]) -> dict[str, object]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=DEADLINE, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_damaged_database_file_is_a_storage_error_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "store"
    with Memory(path, embedder="hash") as mem:
        for i in range(300):
            mem.add(f"fact {i} about thing{i} " + "padding " * 30, user_id="u")
    db = path / "mnemoweave.db"
    data = bytearray(db.read_bytes())
    for page in range(5, min(len(data) // 4096, 40)):  # scribble over the table pages
        data[page * 4096 + 100 : page * 4096 + 400] = bytes(range(256)) + bytes(44)
    db.write_bytes(bytes(data))
    with pytest.raises(StorageError, match="restore it from a backup"):
        Memory(path, embedder="hash")
    assert db.read_bytes() == data
    db.write_bytes(b"not a database at all " * 500)
    with pytest.raises(StorageError, match="not a readable mnemoweave database"):
        Memory(path, embedder="hash")
    assert db.read_bytes() == b"not a database at all " * 500


READ_ONLY = """
import json, sys
from pathlib import Path
from mnemoweave import Memory, StorageError
out = {}
for name in ("existing", "empty"):
    try:
        # A long busy_timeout: opening must fail at once, not after waiting for it.
        Memory(Path(sys.argv[1]) / name, embedder="hash", busy_timeout=3600).close()
        out[name] = "opened"
    except StorageError as exc:
        out[name] = "StorageError: " + str(exc)
    except BaseException as exc:
        out[name] = f"raw {type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


def test_a_read_only_directory_fails_fast_with_a_clear_error(tmp_path: Path) -> None:
    base = tmp_path / "ro"
    with Memory(base / "existing", embedder="hash") as mem:
        mem.add("a fact that must stay", user_id="u")
    (base / "empty").mkdir()
    before = {p.name: p.read_bytes() for p in (base / "existing").iterdir()}
    if _namespaces():
        script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$0" -c "$2" "$1"'
        out = _run(["unshare", "-rm", "sh", "-c", script, sys.executable, str(base), READ_ONLY])
    elif os.geteuid() != 0:
        for folder in (base / "existing", base / "empty"):
            folder.chmod(0o555)
        try:
            out = _run([sys.executable, "-c", READ_ONLY, str(base)])
        finally:
            for folder in (base / "existing", base / "empty"):
                folder.chmod(0o755)
    else:
        pytest.skip("root without user namespaces: no way to make a directory read-only here")
    for name in ("existing", "empty"):
        assert str(out[name]).startswith("StorageError"), out
        assert "is not writable" in str(out[name]), out
    assert {p.name: p.read_bytes() for p in (base / "existing").iterdir()} == before
    with Memory(base / "existing", embedder="hash") as mem:
        assert mem.verify()["memories"] == 1


FULL_DISK = """
import json, resource, signal, sys
from pathlib import Path
from mnemoweave import Memory, StorageError

base, mode = Path(sys.argv[1]), sys.argv[2]
path, filler = base / "store", base / "filler"
out = {}


def fill():
    if mode == "tmpfs":
        with open(filler, "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(bytes(4096))
            except OSError as exc:
                out["filled"] = exc.errno
    else:  # no file of the store may grow any more
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = max(p.stat().st_size for p in path.iterdir() if p.name != "vectors.faiss")
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        out["filled"] = limit


def free():
    if mode == "tmpfs":
        filler.unlink()
    else:
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)


def attempt(name, call):
    try:
        out[name] = ["ok", call()]
    except StorageError as exc:
        out[name] = ["StorageError", str(exc)]
    except BaseException as exc:
        out[name] = [f"raw {type(exc).__name__}", str(exc)]


with Memory(path, embedder="hash") as mem:
    ids = [mem.add(f"kept fact {i} about keeper{i}", user_id="u").results[0].id for i in range(30)]
mem = Memory(path, embedder="hash")
ids += [mem.add(f"second fact {i} about second{i}", user_id="u").results[0].id for i in range(5)]
fill()


def add_until_full():
    for i in range(2000):
        ids.append(mem.add(f"extra {i} about extra{i} " + "y" * 500, user_id="u").results[0].id)


attempt("add", add_until_full)
attempt("search", lambda: mem.search("keeper7", user_id="u", limit=1).results[0].memory)
attempt("close", mem.close)
free()
with Memory(path, embedder="hash") as mem:
    out["verify"] = mem.verify()
    have = {m.id for m in mem.get_all(user_id="u", limit=10000).results}
    out["missing"] = [i for i in ids if i not in have]
    out["found"] = mem.search("second3", user_id="u", limit=1).results[0].memory
    mem.add("written once the disk had room again", user_id="u")
with Memory(path, embedder="hash") as mem:
    out["after"] = mem.verify()["memories"] - len(ids)
print(json.dumps(out))
"""


def test_a_full_disk_is_a_storage_error_and_loses_nothing(tmp_path: Path) -> None:
    base = tmp_path / "small"
    base.mkdir()
    if _namespaces():
        script = 'mount -t tmpfs -o size=8m tmpfs "$1" && exec "$0" -c "$2" "$1" tmpfs'
        out = _run(["unshare", "-rm", "sh", "-c", script, sys.executable, str(base), FULL_DISK])
    else:
        out = _run([sys.executable, "-c", FULL_DISK, str(base), "rlimit"])
    for step in ("add", "close"):
        kind, message = out[step]  # type: ignore[misc]
        assert kind == "StorageError", out
        assert "free space" in message, out
    assert out["search"] == ["ok", "kept fact 7 about keeper7"]
    assert out["missing"] == []  # every add that returned survived the full disk
    assert out["found"] == "second fact 3 about second3"
    assert out["verify"]["ok"]  # type: ignore[index]
    assert out["after"] == 1
