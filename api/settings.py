"""Service settings, read from the environment in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SQLITE = Path("var") / "planner.db"


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{DEFAULT_SQLITE}"


def normalize_database_url(url: str) -> str:
    """Accept the usual spellings and pick the async driver (aiosqlite, asyncpg)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        url = "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=_default_database_url)
    public_url: str = "http://127.0.0.1:8000"
    solver_time_limit_s: float = 5.0
    solver_workers: int = 1
    json_body_limit: int = 1024 * 1024
    ics_body_limit: int = 5 * 1024 * 1024
    debug: bool = False

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=normalize_database_url(env.get("DATABASE_URL") or _default_database_url()),
            public_url=env.get("PUBLIC_URL", cls.public_url).rstrip("/"),
            solver_time_limit_s=float(env.get("SOLVER_TIME_LIMIT_S", cls.solver_time_limit_s)),
            solver_workers=int(env.get("SOLVER_WORKERS", cls.solver_workers)),
            debug=env.get("DEBUG", "") == "1",
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
