"""``mnemoweave doctor``: one line per check (config, embedder, LLM, store), exit 4 on a failure."""

from __future__ import annotations

from typing import Any

import typer

from . import _doctor
from ._cli_common import (
    EXIT_STORE,
    BackendOpt,
    EmbedderOpt,
    JsonOpt,
    PathOpt,
    app,
    backend_options,
    emit,
    out,
)
from ._cli_server import LlmModelOpt, LlmUrlOpt
from .errors import MnemoweaveError

_STYLE = {"ok": "green", "fail": "red", "skip": "yellow"}


@app.command()
def doctor(
    llm_model: LlmModelOpt = None,
    llm_base_url: LlmUrlOpt = None,
    path: PathOpt = None,
    backend: BackendOpt = None,
    embedder: EmbedderOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the config, the embedder's model, the LLM endpoint and the store."""
    values: dict[str, Any] = {}
    if path is not None:
        values["path"] = str(path)
    if embedder is not None:
        values["embedder"] = embedder
    try:
        values.update(backend_options(backend))
    except MnemoweaveError as exc:
        checks = [_doctor.Check("config", "fail", f"{type(exc).__name__}: {exc}")]
    else:
        checks = _doctor.run_checks(values, llm_model=llm_model, llm_base_url=llm_base_url)
    ok = all(c.status != "fail" for c in checks)

    def render() -> None:
        for c in checks:
            style = _STYLE[c.status]
            out.print(f"[{style}]{c.status:<4}[/{style}] {c.name:<8} {c.detail}", highlight=False)

    emit({"ok": ok, "checks": [c.to_dict() for c in checks]}, as_json, render)
    if not ok:
        raise typer.Exit(EXIT_STORE)
