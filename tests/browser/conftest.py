"""Browser tests: the real app under uvicorn on a free port (SQLite), driven by Debian's Chromium.

Playwright's own browser downloads are not used: the tests launch /usr/bin/chromium (package
`chromium`; .ci/run installs it). Without it the tests skip, except under CI=true, where a
browser that cannot start fails the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from live import serving

from api.app import create_app
from api.cli import create_coach
from api.migrate import upgrade
from api.settings import Settings

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
T = TypeVar("T")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def off_loop(function: Callable[..., T], *args: Any) -> T:
    """Run in a thread of its own: Playwright's sync API keeps an event loop running in this
    one, and the set-up calls asyncio.run."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not shutil.which(CHROMIUM):
        message = f"no Chromium at {CHROMIUM}: apt-get install -y chromium"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The app on 127.0.0.1 and a free port, on a fresh SQLite database."""
    path = tmp_path_factory.mktemp("browser") / "planner.db"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", solver_time_limit_s=10.0)
    off_loop(upgrade, settings)
    with serving(create_app(settings)) as url:
        yield {"url": url, "settings": settings}


@pytest.fixture
def coach_key(server: dict[str, Any]) -> str:
    name = f"Coach {uuid.uuid4().hex[:6]}"
    return off_loop(asyncio.run, create_coach(server["settings"], name))


@pytest.fixture
def api(server: dict[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server["url"], timeout=30) as client:
        yield client


@pytest.fixture
def shot():
    """Save a full-page screenshot under tests/artifacts/ for a reviewer to look at."""
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page: Any, name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return save


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: pytest-playwright keeps a session-wide event loop running in the
    main thread once it starts, and the other tests' set-up calls asyncio.run."""
    here = Path(__file__).parent
    items.sort(key=lambda item: here in Path(str(item.path)).parents)
