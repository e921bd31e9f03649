"""Shared helpers for the benchmark studies: timing, percentiles, RSS, tables, results files."""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def results_dir() -> Path:
    """Where tables go: ``$BENCH_RESULTS_DIR`` (tests point it at a temp dir) or bench/results."""
    return Path(os.environ.get("BENCH_RESULTS_DIR") or RESULTS)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``fn`` once; return (seconds, result)."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value != value:
            return "—"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) < 1:
            return f"{value:.{digits}g}"
        return f"{value:.{digits}f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table with values formatted by :func:`fmt`."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    return "\n".join(lines)


def machine() -> str:
    """One line describing where the numbers come from."""
    import platform

    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"


def write_results(
    study: str, table: str, figures: dict[str, Any] | None = None, json_path: str | None = None
) -> Path:
    """Write the table (and optional JSON figures) under bench/results/ and return the path."""
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{study}.md"
    out.write_text(table + "\n")
    if figures is not None:
        (folder / f"{study}.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
        if json_path:
            Path(json_path).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return out


class LookupEmbedder:
    """Returns precomputed vectors for known texts, so benchmarks exclude embedding time.

    Unknown texts get a deterministic random vector (seeded by the text), never an error.
    """

    def __init__(self, dim: int = 384) -> None:
        self._dim = dim
        self.table: dict[str, np.ndarray] = {}

    @property
    def model_id(self) -> str:
        return f"bench-lookup-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            vec = self.table.get(text)
            if vec is None:
                seed = int.from_bytes(text.encode("utf-8")[:8].ljust(8, b"\0"), "little")
                vec = np.random.default_rng(seed).standard_normal(self._dim).astype(np.float32)
            out[i] = vec
        return out


def save_bar_chart(
    study: str,
    title: str,
    groups: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    ylabel: str,
    log: bool = False,
) -> Path:
    """A grouped bar chart (one bar per series in each group) saved as ``<study>.png``."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(max(7.0, 1.2 * len(groups) + 5), 4.0))
    width = 0.8 / max(1, len(series))
    positions = np.arange(len(groups))
    for i, (name, values) in enumerate(series.items()):
        clean = [0.0 if v is None or v != v else float(v) for v in values]
        ax.bar(positions + i * width - 0.4 + width / 2, clean, width, label=name)
    ax.set_xticks(positions)
    ax.set_xticklabels(groups, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    fig.tight_layout()
    out = folder / f"{study}.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
