"""``mnemoweave-server serve``, ``mnemoweave-server mcp`` and ``mnemoweave-server keys ...``.

Defaults come from the environment (``MNEMOWEAVE_BACKEND``, ``MNEMOWEAVE_SERVER_DATA``,
``MNEMOWEAVE_KEYS_FILE``, ``MNEMOWEAVE_EMBEDDER``, ``MNEMOWEAVE_LLM_MODEL``,
``MNEMOWEAVE_LLM_BASE_URL``), so a container needs no flags. The LLM's API key is only ever
read from ``$OPENAI_API_KEY``, never from a flag (flags show in process lists); so is the
memory server's key for ``mcp --url`` (``$MNEMOWEAVE_API_KEY``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from mnemoweave.errors import ConfigurationError, MnemoweaveError

from ._keys import KeyStore
from ._settings import DEFAULT_PORT, build_settings, plain_env


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", help="store directory (default $MNEMOWEAVE_HOME)")
    parser.add_argument("--data-dir", help="the server's own files (default <store>/server)")
    parser.add_argument("--keys-file", help="API keys file (default <data-dir>/keys.json)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnemoweave-server", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the memory server")
    _store_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--workers", type=int, default=1, help="worker processes")
    serve.add_argument("--embedder", help="embedder provider name (default: local)")
    serve.add_argument("--llm-model", help="LLM model for fact extraction (none: raw storage)")
    serve.add_argument("--llm-base-url", help="OpenAI-compatible endpoint of that model")
    serve.add_argument("--rate-limit", type=float, help="requests/s per key (0: no limit)")
    serve.add_argument("--max-body-bytes", type=int, help="largest request body accepted")
    serve.add_argument("--cors-origin", action="append", default=[], help="allow this origin")
    serve.add_argument(
        "--allow-private-webhooks",
        action="store_true",
        help="let webhooks target loopback/private addresses (tests and one-host setups)",
    )
    serve.add_argument(
        "--proxy-upstream",
        help="base URL of the OpenAI-compatible API the chat proxy forwards to "
        "(its key: $MNEMOWEAVE_PROXY_API_KEY)",
    )
    serve.add_argument(
        "--proxy-model",
        action="append",
        default=[],
        metavar="FROM=TO",
        help="map a requested model to an upstream one (repeatable; '*=TO' maps all others)",
    )
    serve.add_argument("--proxy-token-budget", type=int, help="tokens the recalled block may use")
    serve.add_argument("--proxy-timeout", type=float, help="seconds to wait for the upstream")
    serve.add_argument("--log-level", default="info")

    mcp = commands.add_parser(
        "mcp", help="serve the memory tools over MCP on stdin/stdout (for editors and assistants)"
    )
    mcp.add_argument("--backend", help="store directory (default $MNEMOWEAVE_HOME)")
    mcp.add_argument(
        "--url",
        help="use a memory server instead (default $MNEMOWEAVE_URL; key: $MNEMOWEAVE_API_KEY)",
    )
    mcp.add_argument("--user-id", help="the session's user (default $MNEMOWEAVE_USER_ID)")
    mcp.add_argument("--agent-id", help="the session's agent (default $MNEMOWEAVE_AGENT_ID)")
    mcp.add_argument("--run-id", help="the session's run (default $MNEMOWEAVE_RUN_ID)")
    mcp.add_argument("--embedder", help="embedder provider name for a local store")
    mcp.add_argument("--llm-model", help="LLM model for fact extraction in a local store")
    mcp.add_argument("--llm-base-url", help="OpenAI-compatible endpoint of that model")

    keys = commands.add_parser("keys", help="manage API keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key and print it once")
    create.add_argument("name")
    create.add_argument("--user", action="append", dest="users", help="a user_id it may touch")
    create.add_argument("--user-prefix", help="it may touch user_ids with this prefix")
    create.add_argument("--read-only", action="store_true")
    create.add_argument("--admin", action="store_true", help="may reset and verify the store")
    create.add_argument("--json", action="store_true", help="print JSON")
    _store_options(create)
    listing = actions.add_parser("list", help="list keys (no secrets)")
    listing.add_argument("--json", action="store_true")
    _store_options(listing)
    revoke = actions.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    _store_options(revoke)
    return parser


def _settings(args: argparse.Namespace, **more: Any) -> Any:
    values = plain_env()
    for name in ("backend", "data_dir", "keys_file"):
        if getattr(args, name, None):
            values[name] = getattr(args, name)
    values.update(more)
    return build_settings(**values)


def _mapping(text: str) -> tuple[str, str]:
    source, sep, target = text.partition("=")
    if not sep or not source.strip() or not target.strip():
        raise ConfigurationError(f"--proxy-model takes FROM=TO, got {text!r}")
    return source.strip(), target.strip()


def _serve(args: argparse.Namespace) -> int:
    from ._serve import serve

    more: dict[str, Any] = {"host": args.host, "port": args.port, "workers": args.workers}
    if args.embedder:
        more["embedder"] = args.embedder
    if args.llm_model:
        more["llm"] = {"model": args.llm_model, "base_url": args.llm_base_url}
    if args.rate_limit is not None:
        more["rate_limit"] = args.rate_limit
    if args.max_body_bytes is not None:
        more["max_body_bytes"] = args.max_body_bytes
    if args.cors_origin:
        more["cors_origins"] = args.cors_origin
    if args.allow_private_webhooks:
        more["webhooks_allow_private"] = True
    if args.proxy_upstream:
        more["proxy_upstream"] = args.proxy_upstream
    if args.proxy_model:
        more["proxy_models"] = dict(_mapping(m) for m in args.proxy_model)
    if args.proxy_token_budget is not None:
        more["proxy_token_budget"] = args.proxy_token_budget
    if args.proxy_timeout is not None:
        more["proxy_timeout"] = args.proxy_timeout
    serve(_settings(args, **more), log_level=args.log_level)
    return 0


def _keys(args: argparse.Namespace) -> int:
    store = KeyStore(_settings(args).keys_path())
    if args.action == "create":
        made = store.create(
            args.name,
            users=args.users,
            user_prefix=args.user_prefix,
            read_only=args.read_only,
            admin=args.admin,
        )
        if args.json:
            print(json.dumps({"key": made.key, **made.info.to_dict()}))
        else:
            print(made.key)
            print(
                f"(key id {made.info.id}; stored hashed in {store.path}; shown only now)",
                file=sys.stderr,
            )
        return 0
    if args.action == "list":
        found = store.list()
        if args.json:
            print(json.dumps([k.to_dict() for k in found], indent=2))
            return 0
        for key in found:
            reach = (
                "all users"
                if not key.restricted
                else (
                    ", ".join(key.users or ()) + (f" {key.user_prefix}*" if key.user_prefix else "")
                )
            )
            flags = [
                f
                for f, on in (
                    ("read-only", key.read_only),
                    ("admin", key.admin),
                    ("REVOKED", key.revoked_at is not None),
                )
                if on
            ]
            print(f"{key.id}  {key.name}  [{reach.strip()}] {' '.join(flags)}".rstrip())
        return 0
    revoked = store.revoke(args.key_id)
    print(f"revoked {revoked.id} ({revoked.name})")
    return 0


def _mcp(args: argparse.Namespace) -> int:
    from mnemoweave import Memory
    from mnemoweave.remote import MemoryClient

    from ._mcp_stdio import run_mcp_stdio
    from ._mcp_tools import fixed_scope

    # stdout carries the protocol: everything else goes to stderr.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    ids = {
        name: getattr(args, name) or os.environ.get(f"MNEMOWEAVE_{name.upper()}") or None
        for name in ("user_id", "agent_id", "run_id")
    }
    # Refuse a missing scope before opening anything.
    fixed_scope(None, user_id=ids["user_id"], agent_id=ids["agent_id"], run_id=ids["run_id"])
    url = args.url or os.environ.get("MNEMOWEAVE_URL")
    if url and args.backend:
        raise ConfigurationError("give either --backend (a local store) or --url (a server)")
    store: Any
    if url:
        store = MemoryClient(url)
    else:
        llm = {"model": args.llm_model, "base_url": args.llm_base_url} if args.llm_model else None
        embedder = args.embedder or os.environ.get("MNEMOWEAVE_EMBEDDER") or None
        store = Memory(
            args.backend or os.environ.get("MNEMOWEAVE_BACKEND"), embedder=embedder, llm=llm
        )
    try:
        run_mcp_stdio(store, **ids)
    finally:
        store.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "mcp":
            return _mcp(args)
        return _keys(args)
    except MnemoweaveError as exc:
        print(f"mnemoweave-server: {exc}", file=sys.stderr)
        return 2
