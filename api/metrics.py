"""Prometheus metrics (GET /metrics) and one structured log line per request and per job.

Each process keeps its own counters: the API's /metrics has its requests, the queue's depth and
the jobs the in-process runner ran; a `planner worker` serves its jobs' figures on its own port
(`--metrics-port`), as Prometheus scrapes one target per process.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from litestar import Response, get
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from api.logs import redact

REGISTRY = CollectorRegistry()
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REQUESTS = Counter(
    "planner_http_requests",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "planner_http_request_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=SECONDS,
    registry=REGISTRY,
)
JOBS = Counter(
    "planner_jobs",
    "Background jobs run, by function and outcome (ok, skipped, failed)",
    ["function", "outcome"],
    registry=REGISTRY,
)
JOB_FAILURES = Counter(
    "planner_job_failures",
    "Background jobs that raised (each attempt counts; SAQ retries them)",
    ["function"],
    registry=REGISTRY,
)
JOB_SECONDS = Histogram(
    "planner_job_seconds",
    "Time a background job ran",
    ["function"],
    buckets=SECONDS,
    registry=REGISTRY,
)
SOLVER_SECONDS = Histogram(
    "planner_solver_seconds",
    "Model build plus CP-SAT solve time of a plan made by a background job",
    ["job"],
    buckets=SECONDS,
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "planner_queue_depth",
    "Jobs in the queue at scrape time, by state (queued, active, scheduled)",
    ["state"],
    registry=REGISTRY,
)

requests_log = logging.getLogger("planner.requests")
jobs_log = logging.getLogger("planner.jobs")


def log_line(logger: logging.Logger, level: int, **fields: Any) -> None:
    """One JSON object per line, led by its time (UTC, ms) and level; the handlers'
    RedactSecrets runs over it too. planner serve and planner worker print these lines bare
    (JSON_LOGGERS), so a log shipper reads each as JSON."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    line = {"ts": stamp, "level": logging.getLevelName(level).lower(), **fields}
    logger.log(level, "%s", json.dumps(line, default=str, separators=(",", ":")))


def observe_solver(report: dict[str, Any] | None, job: str) -> None:
    solver = (report or {}).get("solver") or {}
    if "solve_ms" in solver:
        SOLVER_SECONDS.labels(job).observe(
            (solver.get("build_ms", 0.0) + solver["solve_ms"]) / 1000.0
        )


def observe_requests(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: count and time each request by its route template (never the raw path:
    a feed token is part of it), and log one line for it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            method = scope.get("method", "")
            REQUESTS.labels(method, route, str(status)).inc()
            REQUEST_SECONDS.labels(method, route).observe(elapsed)
            if route != "/metrics":
                # the request's one line (planner serve turns uvicorn's access line off)
                # decoded before the redaction: "Bearer%20coach_..." or "%2Ffeeds%2F..." hid
                # their secrets from it (a hostile trial)
                query = unquote_plus(scope.get("query_string", b"").decode("latin-1"))
                client = scope.get("client")
                log_line(
                    requests_log,
                    logging.INFO,
                    event="request",
                    method=method,
                    path=redact(scope.get("path", "") + (f"?{query}" if query else "")),
                    route=route,
                    status=status,
                    ms=round(elapsed * 1000, 1),
                    client=f"{client[0]}:{client[1]}" if client else None,
                )

    return middleware


def metrics_handler(depth: Callable[[], Awaitable[dict[str, int]]]) -> Any:
    """GET /metrics, reading the queue's depth from `depth` at each scrape."""

    @get("/metrics", include_in_schema=False)
    async def metrics() -> Response[bytes]:
        try:
            counts = await depth()
        except Exception:  # a scrape must answer even when Redis does not
            counts = {}
        for state in ("queued", "active", "scheduled"):
            QUEUE_DEPTH.labels(state).set(counts.get(state, 0))
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return metrics
