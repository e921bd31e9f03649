"""``mnemoweave serve``, ``mnemoweave mcp`` and ``mnemoweave keys``: the server package's parts.

They need ``mnemoweave-server`` (``pip install mnemoweave-server``), imported only when one of
them runs, so core never depends on it; without it they exit with code 4 and say what to
install. ``--path`` is the store the server opens; keys live where the server reads them
(``<store>/server/keys.json`` unless ``--keys-file``).
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer

from ._cli_common import (
    AgentOpt,
    BackendOpt,
    EmbedderOpt,
    JsonOpt,
    PathOpt,
    RunOpt,
    UserOpt,
    app,
    backend_options,
    emit,
    err,
    out,
    reporting,
    table,
)
from .errors import ConfigurationError, ValidationError

LlmModelOpt = Annotated[
    str | None,
    typer.Option(envvar="MNEMOWEAVE_LLM_MODEL", help="LLM model for fact extraction"),
]
LlmUrlOpt = Annotated[
    str | None,
    typer.Option(envvar="MNEMOWEAVE_LLM_BASE_URL", help="OpenAI-compatible endpoint of it"),
]
KeysFileOpt = Annotated[
    Path | None, typer.Option(help="API keys file (default <store>/server/keys.json)")
]


def server_package(command: str) -> ModuleType:
    """``mnemoweave_server``, or a ConfigurationError saying how to install it."""
    try:
        return importlib.import_module("mnemoweave_server")
    except ImportError as exc:
        raise ConfigurationError(
            f"`mnemoweave {command}` needs the mnemoweave-server package, which is not "
            f"installed or failed to import ({exc}): pip install mnemoweave-server"
        ) from None


def _llm(model: str | None, base_url: str | None) -> dict[str, Any] | None:
    return {"model": model, "base_url": base_url} if model else None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8420,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    keys_file: KeysFileOpt = None,
    llm_model: LlmModelOpt = None,
    llm_base_url: LlmUrlOpt = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
) -> None:
    """Run the memory server (REST API, mem0 routes, MCP at /mcp, inspector at /ui)."""
    with reporting():
        memory_options = backend_options(backend)
        srv = server_package("serve")
        options: dict[str, Any] = {"host": host, "port": port, "workers": workers}
        for name, value in (
            ("backend", path),
            ("keys_file", keys_file),
            ("embedder", embedder),
            ("llm", _llm(llm_model, llm_base_url)),
        ):
            if value is not None:
                options[name] = str(value) if isinstance(value, Path) else value
        if memory_options:
            options["memory_options"] = memory_options
        srv.serve(srv.ServerSettings.from_env(), log_level=log_level, **options)


@app.command()
def mcp(
    user_id: UserOpt = None,
    agent_id: AgentOpt = None,
    run_id: RunOpt = None,
    url: Annotated[
        str | None,
        typer.Option(envvar="MNEMOWEAVE_URL", help="a memory server instead of a local store"),
    ] = None,
    llm_model: LlmModelOpt = None,
    llm_base_url: LlmUrlOpt = None,
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
) -> None:
    """Serve the memory tools over MCP on stdin/stdout, every call in the given scope.

    With --url the tools use that server (its key from $MNEMOWEAVE_API_KEY)."""
    with reporting():
        if not (user_id or agent_id or run_id):
            raise ValidationError("mcp needs a scope: --user-id, --agent-id or --run-id")
        options = backend_options(backend)
        srv = server_package("mcp")
        store: Any
        if url:
            if path is not None and os.environ.get("MNEMOWEAVE_HOME") != str(path):
                raise ConfigurationError("give either --path (a local store) or --url (a server)")
            from .remote import MemoryClient

            store = MemoryClient(url)
        else:
            from .memory import Memory

            store = Memory(path, embedder=embedder, llm=_llm(llm_model, llm_base_url), **options)
        try:
            srv.run_mcp_stdio(store, user_id=user_id, agent_id=agent_id, run_id=run_id)
        finally:
            store.close()


keys_app = typer.Typer(help="Create, list and revoke the server's API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _keys_file(srv: ModuleType, path: Path | None, keys_file: Path | None) -> Path:
    """The keys file the server on this store reads."""
    if keys_file is not None:
        return keys_file.expanduser()
    values = srv.ServerSettings.from_env().model_dump(exclude_unset=True)
    if path is not None:
        values["backend"] = str(path)
    found: Path = srv.ServerSettings(**values).keys_path()
    return found


@keys_app.command("create")
def keys_create(
    name: str,
    user: Annotated[
        list[str] | None, typer.Option("--user", help="a user_id it may touch (repeatable)")
    ] = None,
    user_prefix: Annotated[
        str | None, typer.Option(help="it may touch user_ids with this prefix")
    ] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="no writes")] = False,
    admin: Annotated[bool, typer.Option("--admin", help="every user, reset, verify")] = False,
    keys_file: KeysFileOpt = None,
    path: PathOpt = None,
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a key bound to users (or --admin) and print its secret once."""
    with reporting():
        backend_options(backend)
        srv = server_package("keys")
        file = _keys_file(srv, path, keys_file)
        made = srv.create_key(
            name,
            users=user or None,
            user_prefix=user_prefix,
            read_only=read_only,
            admin=admin,
            keys_file=file,
        )
        if as_json:
            emit({"key": made.key, **made.info.to_dict()}, True, lambda: None)
        else:
            out.print(made.key, highlight=False)
            err.print(f"(key id {made.info.id}; stored hashed in {file}; shown only now)")


@keys_app.command("list")
def keys_list(
    keys_file: KeysFileOpt = None,
    path: PathOpt = None,
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every key (revoked ones too) with what it may reach; secrets are never stored."""
    with reporting():
        backend_options(backend)
        srv = server_package("keys")
        found = srv.list_keys(_keys_file(srv, path, keys_file))
        rows = [json.loads(json.dumps(k.to_dict(), default=str)) for k in found]
        for row, key in zip(rows, found, strict=True):
            row["reach"] = (
                "all users"
                if not key.restricted
                else " ".join(
                    [*(key.users or ()), *([f"{key.user_prefix}*"] * bool(key.user_prefix))]
                )
            )
            row["flags"] = " ".join(
                f
                for f, on in (
                    ("read-only", key.read_only),
                    ("admin", key.admin),
                    ("REVOKED", key.revoked_at is not None),
                )
                if on
            )
        emit(rows, as_json, lambda: table(rows, ["id", "name", "reach", "flags", "created_at"]))


@keys_app.command("revoke")
def keys_revoke(
    key_id: str,
    keys_file: KeysFileOpt = None,
    path: PathOpt = None,
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key by id; running servers refuse it from their next request on."""
    with reporting():
        backend_options(backend)
        srv = server_package("keys")
        revoked = srv.revoke_key(key_id, _keys_file(srv, path, keys_file))
        emit(
            json.loads(json.dumps(revoked.to_dict(), default=str)),
            as_json,
            lambda: out.print(f"revoked {revoked.id} ({revoked.name})", highlight=False),
        )
