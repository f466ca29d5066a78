"""Service settings, read from the environment in one place."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_SQLITE = Path("var") / "planner.db"
DB_CONNECT_TIMEOUT_S = 5.0
# kept across restarts when SECRET_KEY is unset, so `make serve` restarts keep coach sessions
# and check-in links
SECRET_KEY_FILE = Path("var") / "secret_key"


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{DEFAULT_SQLITE}"


def read_secret(path: Path) -> str:
    """The secret kept in `path`, or "" when there is none."""
    try:
        return path.read_text("utf-8").strip()
    except FileNotFoundError:
        return ""


def write_secret(path: Path, secret: str) -> None:
    """Keep `secret` in `path`, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secret + "\n")


def stored_secret_key(path: Path = SECRET_KEY_FILE) -> str:
    """The key in `path`, made (random, readable by the owner only) when there is none."""
    key = read_secret(path)
    if not key:
        key = secrets.token_urlsafe(48)
        write_secret(path, key)
    return key


def normalize_database_url(url: str) -> str:
    """Accept the usual spellings and pick the async driver (aiosqlite, asyncpg)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        url = "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    if url.startswith("postgresql+asyncpg://") and "sslmode=" in url:
        # libpq's spelling, as managed PostgreSQL providers hand it out; asyncpg takes the same
        # modes as `ssl` (sslmode made connect() fail with a TypeError: an operator's trial)
        parts = urlsplit(url)
        query = [("ssl" if k == "sslmode" else k, v) for k, v in parse_qsl(parts.query)]
        url = urlunsplit(parts._replace(query=urlencode(query)))
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=_default_database_url)
    # where clients reach the service (scheme, host, port, path prefix), for the links it hands
    # out (feed URLs); unset, links are built from the host and port each request came to
    public_url: str | None = None
    solver_time_limit_s: float = 5.0
    solver_workers: int = 1
    json_body_limit: int = 1024 * 1024
    ics_body_limit: int = 5 * 1024 * 1024
    debug: bool = False
    # open a connection per use instead of pooling: for callers that run the app on a new event
    # loop per request (the schemathesis tests), since asyncpg connections are loop-bound
    null_pool: bool = False
    # signs coach session cookies, CSRF tokens and check-in links; never logged or printed.
    # Unset in code (tests), a fresh random key per Settings
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48), repr=False)
    # background work (api.jobs): SAQ on Redis when set, an in-process runner otherwise
    redis_url: str | None = field(default=None, repr=False)
    queue_name: str = "planner"  # also the Redis key prefix: one per deployment (or test run)
    source_refresh_min: float = 60.0
    # a failed refresh is tried again after this, doubling per failure up to source_refresh_min
    source_retry_s: float = 60.0
    # calendar sources may name private, loopback and link-local addresses (tests, a LAN)
    allow_private_sources: bool = False
    # a job whose worker stops touching it for this long (killed) is retried by another worker
    job_heartbeat_s: int = 30
    # jobs one `planner worker` process runs at once (solving holds one core each)
    worker_concurrency: int = 2

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=normalize_database_url(env.get("DATABASE_URL") or _default_database_url()),
            public_url=(env.get("PUBLIC_URL") or "").strip().rstrip("/") or None,
            solver_time_limit_s=float(env.get("SOLVER_TIME_LIMIT_S", cls.solver_time_limit_s)),
            solver_workers=int(env.get("SOLVER_WORKERS", cls.solver_workers)),
            debug=env.get("DEBUG", "") == "1",
            secret_key=(env.get("SECRET_KEY") or "").strip() or stored_secret_key(),
            redis_url=(env.get("REDIS_URL") or "").strip() or None,
            queue_name=(env.get("QUEUE_NAME") or "").strip() or cls.queue_name,
            source_refresh_min=float(env.get("SOURCE_REFRESH_MIN", cls.source_refresh_min)),
            source_retry_s=float(env.get("SOURCE_RETRY_S", cls.source_retry_s)),
            allow_private_sources=env.get("ALLOW_PRIVATE_SOURCES", "") == "1",
            job_heartbeat_s=int(env.get("JOB_HEARTBEAT_S", cls.job_heartbeat_s)),
            worker_concurrency=int(env.get("WORKER_CONCURRENCY", cls.worker_concurrency)),
        )

    def base_url(self, served_at: str) -> str:
        """Links start here: PUBLIC_URL when set, else where the request came (`served_at`,
        e.g. Litestar's request.base_url: scheme, Host header and root path)."""
        return self.public_url or served_at.rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def connect_args(self) -> dict[str, Any]:
        """PostgreSQL: connecting gives up after DB_CONNECT_TIMEOUT_S (a server that takes the
        connection and never answers held every request for 60 s: an operator's trial)."""
        return {} if self.is_sqlite else {"timeout": DB_CONNECT_TIMEOUT_S}
