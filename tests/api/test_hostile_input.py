"""Hostile calendars through the API, against a real server: each import answers within a
wall-clock guard, and /health answers in under a second while it is being read."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import auth
from live import serving
from support import create_athlete

from api.app import create_app
from planner import calendar_in

GUARD_S = 15.0  # every import answers within this, however hostile the file
HEALTH_S = 1.0  # and the service keeps answering meanwhile


@pytest.fixture
def live_url(settings) -> Iterator[str]:
    """The app behind uvicorn in a thread: a blocked event loop shows as /health timing out,
    where the in-process test client would just wait with it."""
    with serving(create_app(settings)) as url:
        yield url


def vcalendar(*events: str) -> bytes:
    return "\r\n".join(
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hostile//EN", *events, "END:VCALENDAR", ""]
    ).encode()


def vevent(uid: str, *lines: str, summary: str = "Spin") -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", f"SUMMARY:{summary}", *lines, "END:VEVENT"])


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def plain_events(count: int) -> bytes:
    """`count` single 30-minute rides 40 minutes apart from tomorrow: inside the import window."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    return vcalendar(
        *(
            vevent(
                f"plain-{i}",
                f"DTSTART:{stamp(start + timedelta(minutes=40 * i))}",
                f"DTEND:{stamp(start + timedelta(minutes=40 * i + 30))}",
                summary=f"Ride {i}",
            )
            for i in range(count)
        )
    )


BY_HOUR = vcalendar(
    vevent(
        "byhour",
        "DTSTART:20260101T000000Z",
        "DURATION:PT30M",
        "RRULE:FREQ=DAILY;BYHOUR=" + ",".join(str(h) for h in range(24)),
    )
)
BY_MINUTE_AND_SECOND = vcalendar(
    vevent(
        "bysecond",
        "DTSTART:20260101T060000Z",
        "DURATION:PT1S",
        "RRULE:FREQ=DAILY;BYMINUTE="
        + ",".join(str(m) for m in range(60))
        + ";BYSECOND="
        + ",".join(str(s) for s in range(60)),
    )
)
# daily series from the year 1: dateutil walks ~740,000 days to reach the window, ~2 s each
ANCIENT = vcalendar(
    *(
        vevent(f"ancient-{i}", "DTSTART:00010101T060000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY")
        for i in range(8)
    )
)


# 20,000 one-off series from years ago: nothing in the window, but all of it must be parsed,
# about 125 MiB of address space
OLD_SERIES = vcalendar(
    *(
        vevent(
            f"old-{i}",
            f"DTSTART:{stamp(datetime(2020, 3, 2, 6, tzinfo=UTC) + timedelta(minutes=i))}",
            "DURATION:PT1M",
            "RRULE:FREQ=DAILY;COUNT=1",
        )
        for i in range(20_000)
    )
)


@dataclass
class Outcome:
    answer: httpx.Response
    seconds: float
    health_checks: list[float]


async def import_watching_health(base_url: str, key: str, athlete_id: str, body: bytes) -> Outcome:
    """POST the import and poll /health until it answers; a guard broken raises a timeout."""
    url = f"/api/v1/athletes/{athlete_id}/rides/import"
    headers = {**auth(key), "Content-Type": "text/calendar"}
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=GUARD_S) as client,
        httpx.AsyncClient(base_url=base_url, timeout=HEALTH_S) as probe,
    ):
        started = time.perf_counter()
        upload = asyncio.create_task(client.post(url, content=body, headers=headers))
        checks: list[float] = []
        try:
            await asyncio.sleep(0.05)  # the upload is under way
            while not upload.done():
                asked = time.perf_counter()
                health = await probe.get("/health")
                checks.append(time.perf_counter() - asked)
                assert health.status_code == 200, health.text
                await asyncio.sleep(0.1)
            answer = await upload
        finally:
            upload.cancel()
        return Outcome(answer, time.perf_counter() - started, checks)


async def stored_rides(base_url: str, key: str, athlete_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=GUARD_S) as client:
        answer = await client.get(f"/api/v1/athletes/{athlete_id}/rides", headers=auth(key))
    assert answer.status_code == 200, answer.text
    return answer.json()


def assert_kept_answering(outcome: Outcome) -> None:
    assert outcome.seconds < GUARD_S, f"answered after {outcome.seconds:.1f} s"
    assert outcome.health_checks, "the import ended before /health was asked: nothing was shown"
    assert max(outcome.health_checks) < HEALTH_S, outcome.health_checks


@pytest.mark.parametrize(
    ("body", "uid", "why"),
    [
        (BY_HOUR, "byhour", "BYHOUR lists 24 values"),
        (BY_MINUTE_AND_SECOND, "bysecond", "BYMINUTE lists 60 values"),
    ],
    ids=["daily-byhour-0-23", "daily-byminute-bysecond"],
)
async def test_a_sub_daily_rule_is_refused_quickly_with_its_event_named_and_nothing_stored(
    live_url, coach_key, body, uid, why
):
    async with httpx.AsyncClient(base_url=live_url) as client:
        athlete = await create_athlete(client, coach_key)
    outcome = await import_watching_health(live_url, coach_key, athlete["id"], body)
    assert_kept_answering(outcome)
    assert outcome.answer.status_code == 200, outcome.answer.text
    counts = outcome.answer.json()
    assert counts["created"] == 0
    [skipped] = counts["skipped_events"]
    assert skipped["uid"] == uid
    assert "repeats more often than daily" in skipped["reason"] and why in skipped["reason"]
    assert await stored_rides(live_url, coach_key, athlete["id"]) == []


@pytest.mark.parametrize("count", [5_000, 20_000], ids=["5k-events", "20k-events"])
async def test_more_events_than_the_import_cap_get_413_naming_the_event_and_the_limit(
    live_url, coach_key, count
):
    async with httpx.AsyncClient(base_url=live_url) as client:
        athlete = await create_athlete(client, coach_key)
    outcome = await import_watching_health(live_url, coach_key, athlete["id"], plain_events(count))
    assert_kept_answering(outcome)
    assert outcome.answer.status_code == 413, outcome.answer.text
    body = outcome.answer.json()
    cap = calendar_in.MAX_OCCURRENCES_PER_IMPORT
    assert body["status_code"] == 413
    assert f"more than {cap} events in the import window" in body["detail"]
    assert f"'plain-{cap}'" in body["detail"] and f"'Ride {cap}'" in body["detail"]
    assert body["extra"][0] | {"message": ""} == {
        "key": "calendar",
        "message": "",
        "uid": f"plain-{cap}",
        "summary": f"Ride {cap}",
    }
    assert await stored_rides(live_url, coach_key, athlete["id"]) == []


async def test_an_import_just_under_the_cap_is_stored_within_the_guard(live_url, coach_key):
    # the overlap checks are sorted sweeps: 2,900 rides used to take seconds of pairwise checks
    async with httpx.AsyncClient(base_url=live_url) as client:
        athlete = await create_athlete(client, coach_key)
    outcome = await import_watching_health(live_url, coach_key, athlete["id"], plain_events(2_900))
    assert_kept_answering(outcome)
    assert outcome.answer.status_code == 200, outcome.answer.text
    assert outcome.answer.json()["created"] == 2_900


async def test_a_calendar_slower_than_the_time_budget_gets_422_naming_what_was_read(
    live_url, coach_key, monkeypatch
):
    monkeypatch.setattr(calendar_in, "IMPORT_TIME_LIMIT_S", 1.0)
    async with httpx.AsyncClient(base_url=live_url) as client:
        athlete = await create_athlete(client, coach_key)
    outcome = await import_watching_health(live_url, coach_key, athlete["id"], ANCIENT)
    assert_kept_answering(outcome)
    assert outcome.seconds < 3
    assert outcome.answer.status_code == 422, outcome.answer.text
    detail = outcome.answer.json()["detail"]
    assert "longer than the import's 1 s" in detail and "event UID 'ancient-" in detail
    assert await stored_rides(live_url, coach_key, athlete["id"]) == []


async def test_a_calendar_needing_more_than_the_memory_budget_gets_413(
    live_url, coach_key, monkeypatch
):
    monkeypatch.setattr(calendar_in, "IMPORT_MEMORY_LIMIT_BYTES", 96 * 1024 * 1024)
    async with httpx.AsyncClient(base_url=live_url) as client:
        athlete = await create_athlete(client, coach_key)
    outcome = await import_watching_health(live_url, coach_key, athlete["id"], OLD_SERIES)
    assert_kept_answering(outcome)
    assert outcome.answer.status_code == 413, outcome.answer.text
    assert "more than the import's 96 MiB of memory" in outcome.answer.json()["detail"]


def calendar_readers() -> list[int]:
    """Child processes of this one that read a calendar (Linux /proc)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(status.read_text().rsplit(")", 1)[1].split()[1])
            command = (status.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and b"planner.calendar_in" in command:
            found.append(int(status.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
async def test_an_import_whose_client_hangs_up_stops_at_the_time_budget(
    live_url, coach_key, monkeypatch
):
    monkeypatch.setattr(calendar_in, "IMPORT_TIME_LIMIT_S", 1.5)
    async with httpx.AsyncClient(base_url=live_url) as client:
        athlete = await create_athlete(client, coach_key)
        upload = asyncio.create_task(
            client.post(
                f"/api/v1/athletes/{athlete['id']}/rides/import",
                content=ANCIENT,
                headers={**auth(coach_key), "Content-Type": "text/calendar"},
            )
        )
        for _ in range(50):
            await asyncio.sleep(0.05)
            if calendar_readers():
                break
        assert calendar_readers(), "the calendar is read in a child process"
        upload.cancel()  # the client hangs up
        health = await client.get("/health", timeout=HEALTH_S)
        assert health.status_code == 200
    deadline = time.monotonic() + 1.5 + 2
    while calendar_readers() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert calendar_readers() == [], "the reader is killed at the time budget"
    assert await stored_rides(live_url, coach_key, athlete["id"]) == []


async def test_slow_imports_leave_the_database_and_the_planners_threads_to_other_requests(
    live_url, coach_key, monkeypatch
):
    """Sixty slow imports (a hostile-input trial) each held a pooled database connection and
    one of the event loop's 6 shared threads while its file was read: other coaches' plans
    queued behind them and got 500s when the pool ran dry. Imports now read in threads of their
    own, without a connection: two read, eight wait, the rest are told to come back (503)."""
    import threading

    import api.rides
    from planner.calendar_in import MAX_CONCURRENT_IMPORTS, ImportResult

    sent = 16
    entered = threading.Semaphore(0)
    release = threading.Event()

    def slow_read(*args: Any, **kwargs: Any) -> ImportResult:
        entered.release()
        release.wait(timeout=60)
        return ImportResult()

    monkeypatch.setattr(api.rides, "read_calendar_bounded", slow_read)
    async with httpx.AsyncClient(base_url=live_url, timeout=60) as client:
        athlete = await create_athlete(client, coach_key)
        base = f"/api/v1/athletes/{athlete['id']}"
        headers = {**auth(coach_key), "Content-Type": "text/calendar"}
        imports = [
            asyncio.create_task(
                client.post(f"{base}/rides/import", content=vcalendar(), headers=headers)
            )
            for _ in range(sent)
        ]
        try:
            for _ in range(MAX_CONCURRENT_IMPORTS):  # the readers are busy
                assert await asyncio.to_thread(entered.acquire, True, 30), "no read began"
            planned = await asyncio.wait_for(
                client.post(f"{base}/plan", json={"weeks": 2}, headers=auth(coach_key)),
                timeout=20,
            )
            assert planned.status_code == 201, planned.text
            listed = await asyncio.wait_for(
                client.get("/api/v1/athletes", headers=auth(coach_key)), timeout=20
            )
            assert listed.status_code == 200, listed.text
        finally:
            release.set()
            answers = await asyncio.gather(*imports)
    statuses = sorted(a.status_code for a in answers)
    waiting = MAX_CONCURRENT_IMPORTS + api.rides.MAX_WAITING_IMPORTS
    assert statuses == [200] * waiting + [503] * (sent - waiting), statuses
    busy = next(a for a in answers if a.status_code == 503)
    assert busy.headers["Retry-After"] == "60" and "try again" in busy.json()["detail"]
