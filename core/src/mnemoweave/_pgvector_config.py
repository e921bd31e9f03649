"""mem0's ``vector_store: {provider: "pgvector", config: {...}}`` as a ``postgresql://`` URL.

mem0's keys map onto the PostgreSQL backend: ``connection_string`` (or ``user``, ``password``,
``host``, ``port``, ``dbname``, ``sslmode``), ``collection_name`` (a schema; mem0's default
``"mem0"`` is mnemoweave's default collection), ``minconn``/``maxconn`` (the pool).
``hnsw``/``diskann`` are accepted and ignored: search is exact inside the caller's scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from .errors import ConfigurationError

_KEYS = {
    "connection_string",
    "dbname",
    "user",
    "password",
    "host",
    "port",
    "sslmode",
    "collection_name",
    "embedding_model_dims",
    "minconn",
    "maxconn",
    "hnsw",
    "diskann",
    "connection_pool",
}


def pgvector_backend(options: Any) -> str:
    """The backend URL for mem0's pgvector ``config`` dict; unknown keys are refused by name."""
    if not isinstance(options, Mapping):
        raise ConfigurationError("vector_store.config must be a dict")
    extra = sorted(set(options) - _KEYS)
    if extra:
        raise ConfigurationError(
            f"unknown vector_store.config key(s) {extra} for 'pgvector'; accepted: {sorted(_KEYS)}"
        )
    if options.get("connection_pool") is not None:
        raise ConfigurationError("pgvector connection_pool objects are not supported; give a URL")
    url = options.get("connection_string")
    if url:
        if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
            raise ConfigurationError(
                "vector_store.config.connection_string must be a postgresql:// URL"
            )
    else:
        user = quote(str(options.get("user") or ""), safe="")
        password = options.get("password")
        auth = (
            f"{user}:{quote(str(password), safe='')}@" if password else (f"{user}@" if user else "")
        )
        host = str(options.get("host") or "localhost")
        port = options.get("port")
        netloc = f"{auth}{host}" + (f":{int(port)}" if port else "")
        url = f"postgresql://{netloc}/{quote(str(options.get('dbname') or 'postgres'), safe='')}"
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    extra_params: dict[str, str] = {}
    name = options.get("collection_name")
    if name and name != "mem0":
        extra_params["collection"] = str(name)
    if options.get("sslmode"):
        extra_params["sslmode"] = str(options["sslmode"])
    for mem0_key, ours in (("minconn", "pool_min"), ("maxconn", "pool_max")):
        if options.get(mem0_key) is not None:
            extra_params[ours] = str(int(options[mem0_key]))
    query.update(extra_params)
    return urlunsplit(parts._replace(query=urlencode(query)))
