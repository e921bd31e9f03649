"""``ServerSettings``: everything the server can be told, with safe defaults.

Worker processes started by uvicorn get the settings through one environment variable
(``MNEMOWEAVE_SERVER_SETTINGS``, JSON), so ``serve(workers=2)`` runs identical apps.
Secrets never travel in it: the LLM key is read from ``$OPENAI_API_KEY`` by core.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from mnemoweave import MemoryConfig
from mnemoweave.errors import ConfigurationError

SETTINGS_ENV = "MNEMOWEAVE_SERVER_SETTINGS"
DEFAULT_PORT = 8420


class ServerSettings(BaseModel):
    """Options of one server; ``backend`` is the store (a directory, or a database URL)."""

    model_config = ConfigDict(extra="forbid")

    #: The store: a directory (SQLite + FAISS), ``None`` for ``$MNEMOWEAVE_HOME``, or a
    #: ``postgresql://`` URL once that backend exists.
    backend: str | None = None
    #: The server's own files (API keys, webhooks); default ``<store>/server``.
    data_dir: str | None = None
    #: The API keys file; default ``<data_dir>/keys.json``.
    keys_file: str | None = None
    embedder: Any = None
    llm: Any = None
    #: Further ``Memory`` options (``keyword_weight``, ``message_window``...).
    memory_options: dict[str, Any] = Field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    #: Largest request body accepted, in bytes (413 beyond).
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    #: Longest message, query or memory text, in characters (422 beyond).
    max_text_chars: int = Field(default=32_768, ge=16)
    #: Most records in one batch call, and most results one list or search may ask for.
    max_batch: int = Field(default=1000, ge=1)
    #: Requests per second each API key may send (a token bucket per worker); 0 turns it off.
    rate_limit: float = Field(default=50.0, ge=0)
    rate_burst: int = Field(default=100, ge=1)
    #: Origins allowed by CORS; empty (the default) sends no CORS headers at all.
    cors_origins: list[str] = Field(default_factory=list)
    #: Let webhooks target loopback and private addresses (tests, one-host setups only).
    webhooks_allow_private: bool = False
    webhook_timeout: float = Field(default=5.0, gt=0)
    webhook_attempts: int = Field(default=5, ge=1, le=20)
    #: Seconds before the first retry; each further retry waits twice as long.
    webhook_backoff: float = Field(default=0.5, gt=0)
    #: Serve ``/metrics`` without a key (it holds route counts, never tenant data).
    metrics_public: bool = True
    #: The chat proxy's upstream: the base URL of an OpenAI-compatible API (``.../v1``);
    #: without one, ``/v1/chat/completions`` answers 400.
    proxy_upstream: str | None = None
    #: The environment variable holding the upstream's API key (the key never travels in
    #: the settings, and never reaches a client).
    proxy_api_key_env: str = "MNEMOWEAVE_PROXY_API_KEY"
    #: Requested model -> upstream model; ``"*"`` maps every model not listed.
    proxy_models: dict[str, str] = Field(default_factory=dict)
    #: Most tokens the recalled memory block may add to a request.
    proxy_token_budget: int = Field(default=1000, ge=1)
    #: Most memories recalled per request.
    proxy_recall_limit: int = Field(default=10, ge=1, le=100)
    #: Seconds to wait for the upstream (per read; a stream may take longer in total).
    proxy_timeout: float = Field(default=120.0, gt=0)
    #: Remember each exchange (in the background); ``proxy_infer`` picks ``add(infer=...)``.
    proxy_remember: bool = True
    proxy_infer: bool | None = None

    # -- derived paths ---------------------------------------------------------------------
    def store_path(self) -> Path | None:
        """The store directory (``None`` for a database URL)."""
        if self.backend and "://" in self.backend:
            return None
        return MemoryConfig(path=self.backend).data_dir()

    def data_path(self) -> Path:
        if self.data_dir:
            return Path(self.data_dir).expanduser()
        store = self.store_path()
        return (store or MemoryConfig().data_dir()) / "server"

    def keys_path(self) -> Path:
        return (
            Path(self.keys_file).expanduser() if self.keys_file else self.data_path() / "keys.json"
        )

    # -- passing to workers ----------------------------------------------------------------
    def to_env(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_env(cls) -> ServerSettings:
        """Settings from ``$MNEMOWEAVE_SERVER_SETTINGS`` (else the defaults + plain variables)."""
        raw = os.environ.get(SETTINGS_ENV)
        if raw:
            try:
                return cls.model_validate(json.loads(raw))
            except (ValueError, PydanticValidationError) as exc:
                raise ConfigurationError(f"${SETTINGS_ENV} is not valid settings: {exc}") from None
        return build_settings(**plain_env())


def plain_env() -> dict[str, Any]:
    """Settings from the documented variables (for containers): backend, dirs, keys file."""
    names = {
        "backend": "MNEMOWEAVE_BACKEND",
        "data_dir": "MNEMOWEAVE_SERVER_DATA",
        "keys_file": "MNEMOWEAVE_KEYS_FILE",
        "embedder": "MNEMOWEAVE_EMBEDDER",
        "proxy_upstream": "MNEMOWEAVE_PROXY_UPSTREAM",
    }
    out: dict[str, Any] = {k: os.environ[v] for k, v in names.items() if os.environ.get(v)}
    model = os.environ.get("MNEMOWEAVE_LLM_MODEL")
    if model:
        out["llm"] = {"model": model, "base_url": os.environ.get("MNEMOWEAVE_LLM_BASE_URL")}
    return out


def build_settings(**values: Any) -> ServerSettings:
    """Validate options into :class:`ServerSettings`, naming each bad one."""
    try:
        return ServerSettings(**values)
    except PydanticValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ConfigurationError("invalid server settings: " + "; ".join(problems)) from None
