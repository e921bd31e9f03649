"""Finding installed mnemoweave adapters through the ``mnemoweave.adapters`` entry-point group.

Listing reads package metadata only, so no framework is imported; loading is opt-in and a
broken adapter is reported (``error``) rather than raised, so it never hides the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points

GROUP = "mnemoweave.adapters"


@dataclass(frozen=True)
class AdapterInfo:
    """One installed adapter: its entry-point name, target, distribution, and load status."""

    name: str
    target: str
    distribution: str | None
    version: str | None
    loaded: bool = False
    error: str | None = None


def discover(*, load: bool = False) -> list[AdapterInfo]:
    """Installed adapters sorted by name; with ``load=True`` each is imported and checked."""
    found = []
    for ep in entry_points(group=GROUP):
        dist = getattr(ep, "dist", None)
        info = AdapterInfo(
            name=ep.name,
            target=ep.value,
            distribution=getattr(dist, "name", None),
            version=getattr(dist, "version", None),
        )
        if load:
            try:
                module_name, _, attr = ep.value.partition(":")
                module = import_module(module_name)
                if attr:
                    for part in attr.split("."):
                        module = getattr(module, part)
                info = AdapterInfo(**{**info.__dict__, "loaded": True})
            except Exception as exc:  # any import failure of one adapter stays local
                error = f"{type(exc).__name__}: {exc}"
                info = AdapterInfo(**{**info.__dict__, "error": error})
        found.append(info)
    return sorted(found, key=lambda a: a.name)
