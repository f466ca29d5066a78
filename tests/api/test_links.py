"""Links the service hands out (feed URLs): PUBLIC_URL when set, else the host a request came to."""

from __future__ import annotations

from dataclasses import replace

from conftest import auth
from litestar.testing import AsyncTestClient
from support import athlete_body

from api.app import create_app
from api.settings import Settings


async def test_without_public_url_the_feed_url_names_the_host_and_port_the_request_came_to(
    settings, coach_key
):
    assert settings.public_url is None
    app = create_app(settings)
    async with AsyncTestClient(app, base_url="http://coach.example:9000") as client:
        made = await client.post("/api/v1/athletes", json=athlete_body(), headers=auth(coach_key))
        assert made.status_code == 201
        assert made.json()["feed_url"].startswith("http://coach.example:9000/feeds/feed_")
        rotated = await client.post(
            f"/api/v1/athletes/{made.json()['id']}/feed-token", headers=auth(coach_key)
        )
        assert rotated.json()["feed_url"].startswith("http://coach.example:9000/feeds/feed_")
        # the link works where it points
        path = rotated.json()["feed_url"].removeprefix("http://coach.example:9000")
        assert (await client.get(path)).status_code == 404  # no plan yet: the feed says so
        assert "no plan yet" in (await client.get(path)).json()["detail"]


async def test_public_url_wins_over_the_request_host(settings, coach_key):
    app = create_app(replace(settings, public_url="https://plans.example.org/coach"))
    async with AsyncTestClient(app, base_url="http://10.0.0.5:8000") as client:
        made = await client.post("/api/v1/athletes", json=athlete_body(), headers=auth(coach_key))
        assert made.json()["feed_url"].startswith("https://plans.example.org/coach/feeds/feed_")


def test_public_url_is_read_from_the_environment_without_a_trailing_slash(monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://plans.example.org/")
    assert Settings.from_env().public_url == "https://plans.example.org"
    monkeypatch.setenv("PUBLIC_URL", "")
    assert Settings.from_env().public_url is None
