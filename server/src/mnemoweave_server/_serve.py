"""``serve()``: run the app under uvicorn with one or more worker processes."""

from __future__ import annotations

import logging
import os
from typing import Any

from ._keys import KeyStore
from ._settings import SETTINGS_ENV, ServerSettings, build_settings

logger = logging.getLogger("mnemoweave.server")


def serve(
    settings: ServerSettings | None = None, *, log_level: str = "info", **options: Any
) -> None:
    """Serve until interrupted. ``options`` override ``settings`` (``host``, ``port``,
    ``workers``, ``backend``, ``keys_file``...); every worker gets the same settings."""
    import uvicorn

    base = settings.model_dump(exclude_unset=True) if settings is not None else {}
    final = build_settings(**{**base, **options})
    if final.store_path() is not None and not KeyStore(final.keys_path()).list():
        logger.warning(
            "mnemoweave-server: no API keys in %s yet; every request will get 401. "
            "Create one with: mnemoweave-server keys create NAME --keys-file %s",
            final.keys_path(),
            final.keys_path(),
        )
    os.environ[SETTINGS_ENV] = final.to_env()
    uvicorn.run(
        "mnemoweave_server._app:app_from_env",
        factory=True,
        host=final.host,
        port=final.port,
        workers=final.workers,
        log_level=log_level,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
