"""``mnemoweave-server keys ...`` and the key-management library functions it wraps."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import mnemoweave_server
from mnemoweave.errors import NotFoundError, ValidationError
from mnemoweave_server import KeyStore, create_key, list_keys, revoke_key
from mnemoweave_server._cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_keys_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys.json"
    assert (
        main(["keys", "create", "ci", "--user", "alice", "--user", "bob", "--keys-file", str(keys)])
        == 0
    )
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("mw_")
    stored = keys.read_text()
    assert secret not in stored
    assert secret.split("_", 2)[2] not in stored
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    found = KeyStore(keys).authenticate(secret)
    assert found is not None
    assert found.users == ("alice", "bob")
    assert not found.read_only

    assert main(["keys", "create", "ops", "--admin", "--json", "--keys-file", str(keys)]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["admin"] is True
    assert made["key"].startswith("mw_")

    assert main(["keys", "list", "--keys-file", str(keys)]) == 0
    listing = capsys.readouterr().out
    assert "ci" in listing
    assert "alice, bob" in listing
    assert "admin" in listing
    assert secret not in listing

    assert main(["keys", "revoke", found.id, "--keys-file", str(keys)]) == 0
    assert KeyStore(keys).authenticate(secret) is None
    assert main(["keys", "revoke", "nope", "--keys-file", str(keys)]) == 2
    assert "no API key" in capsys.readouterr().err


def test_library_functions(tmp_path: Path) -> None:
    keys = tmp_path / "k" / "keys.json"
    made = create_key("reader", user_prefix="acme:", read_only=True, keys_file=keys)
    assert made.info.allows_user("acme:1")
    assert not made.info.allows_user("other")
    assert [k.name for k in list_keys(keys)] == ["reader"]
    assert revoke_key(made.info.id, keys).revoked_at is not None
    with pytest.raises(NotFoundError):
        revoke_key("missing", keys)
    with pytest.raises(ValidationError):
        create_key("bad", users=[""], keys_file=keys)
    with pytest.raises(ValidationError, match="admin"):
        create_key("bad", users=["a"], admin=True, keys_file=keys)


def test_default_keys_file_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MNEMOWEAVE_BACKEND", str(tmp_path / "store"))
    made = create_key("env")
    assert (tmp_path / "store" / "server" / "keys.json").exists()
    assert [k.id for k in list_keys()] == [made.info.id]


def test_console_script_runs(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "mnemoweave_server",
            "keys",
            "list",
            "--keys-file",
            str(tmp_path / "k.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0
    assert out.stdout == ""


def test_public_api_and_packaging() -> None:
    assert mnemoweave_server.__all__ == sorted(mnemoweave_server.__all__)
    for name in mnemoweave_server.__all__:
        assert hasattr(mnemoweave_server, name)
    assert (ROOT / "src" / "mnemoweave_server" / "py.typed").exists()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "mnemoweave-server"
    assert project["scripts"]["mnemoweave-server"] == "mnemoweave_server._cli:main"
    framework = [d for d in project["dependencies"] if d.startswith("fastapi")]
    assert framework
    assert "<" in framework[0]
