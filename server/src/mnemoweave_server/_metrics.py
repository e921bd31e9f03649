"""Prometheus metrics in the text exposition format, kept per worker process.

Requests are counted and timed by route template (``/api/v1/memories/{memory_id}``, never
the id itself), so the series stay few and name no tenant. LLM calls and tokens come from
each add's ``usage``. With several workers each one counts its own requests; a scrape reads
the worker that answered (sum across workers in Prometheus with ``sum by``).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(**values: str) -> str:
    inner = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in values.items()
    )
    return "{" + inner + "}"


class Metrics:
    """Counters and histograms of one process; :meth:`render` writes the text format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], float] = defaultdict(float)
        self.latency: dict[tuple[str, str], list[float]] = {}
        self.latency_sum: dict[tuple[str, str], float] = defaultdict(float)
        self.counters: dict[str, float] = defaultdict(float)
        self.labelled: dict[tuple[str, str, str], float] = defaultdict(float)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route)
        with self._lock:
            self.requests[(method, route, str(status))] += 1
            buckets = self.latency.get(key)
            if buckets is None:
                buckets = self.latency[key] = [0.0] * (len(BUCKETS) + 1)
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    buckets[i] += 1
            buckets[-1] += 1
            self.latency_sum[key] += seconds

    def observe_usage(self, usage: Any) -> None:
        """Count an add's LLM calls, tokens and LLM seconds (``AddResult.usage``)."""
        if usage is None:
            return
        with self._lock:
            self.counters["llm_calls"] += int(usage.llm_calls)
            self.counters["llm_prompt_tokens"] += int(usage.prompt_tokens)
            self.counters["llm_completion_tokens"] += int(usage.completion_tokens)
            self.counters["llm_seconds"] += float(usage.llm_seconds)

    def count(self, name: str, label: str = "", value: str = "", by: float = 1.0) -> None:
        with self._lock:
            if label:
                self.labelled[(name, label, value)] += by
            else:
                self.counters[name] += by

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            lines += [
                "# HELP mnemoweave_http_requests_total HTTP requests by method, route and status.",
                "# TYPE mnemoweave_http_requests_total counter",
            ]
            for (method, route, status), n in sorted(self.requests.items()):
                labels = _labels(method=method, route=route, status=status)
                lines.append(f"mnemoweave_http_requests_total{labels} {n}")
            lines += [
                "# HELP mnemoweave_http_request_duration_seconds Request latency by route.",
                "# TYPE mnemoweave_http_request_duration_seconds histogram",
            ]
            name = "mnemoweave_http_request_duration_seconds"
            for (method, route), buckets in sorted(self.latency.items()):
                for bound, n in zip((*map(str, BUCKETS), "+Inf"), buckets):
                    labels = _labels(method=method, route=route, le=bound)
                    lines.append(f"{name}_bucket{labels} {n:g}")
                labels = _labels(method=method, route=route)
                lines.append(f"{name}_sum{labels} {self.latency_sum[(method, route)]:.6f}")
                lines.append(f"{name}_count{labels} {buckets[-1]:g}")
            for key, help_text in _COUNTERS.items():
                lines += [f"# HELP mnemoweave_{key}_total {help_text}"]
                lines += [f"# TYPE mnemoweave_{key}_total counter"]
                lines.append(f"mnemoweave_{key}_total {self.counters.get(key, 0.0):g}")
            families: dict[str, list[str]] = defaultdict(list)
            for (metric, label, value), n in sorted(self.labelled.items()):
                families[metric].append(
                    f"mnemoweave_{metric}_total{_labels(**{label: value})} {n:g}"
                )
            for metric, rows in families.items():
                lines += [f"# TYPE mnemoweave_{metric}_total counter", *rows]
        return "\n".join(lines) + "\n"


_COUNTERS = {
    "llm_calls": "LLM calls made by infer adds.",
    "llm_prompt_tokens": "Prompt tokens sent to the LLM.",
    "llm_completion_tokens": "Completion tokens received from the LLM.",
    "llm_seconds": "Seconds spent waiting for the LLM.",
    "rate_limited": "Requests refused by the per-key rate limit.",
}


class MetricsMiddleware:
    """Time every HTTP request and count it under its route template.

    Answers also name the worker process (``X-Mnemoweave-Worker``, random per process) so
    operators can tell which of several workers answered.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, worker: str) -> None:
        self.app = app
        self.metrics = metrics
        self.worker = (b"x-mnemoweave-worker", worker.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {**message, "headers": [*message.get("headers", []), self.worker]}
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(
                scope.get("method", "GET"), template, status, time.perf_counter() - start
            )
