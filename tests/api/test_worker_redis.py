"""Background work on the real queue: the API enqueues on Redis (127.0.0.1:6379) and
`planner worker` processes run the jobs, on both databases. In CI (CI=true) a missing Redis
fails the run; elsewhere these tests are skipped.

Each test has a queue of its own (its name is the Redis key prefix), so runs in parallel do not
meet. The crash test kills a worker with SIGKILL in the middle of a job: another worker's sweep
gives the job to it, and the work is done once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from calendar_server import amateur_weeks, ics
from conftest import auth
from litestar.testing import AsyncTestClient
from support import create_athlete, next_monday
from test_sources import job_done, source_of, wait_for

from api.app import create_app
from api.settings import Settings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PLANNER = str(Path(sys.executable).parent / "planner")
HEARTBEAT_S = 2


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError) as exc:
        message = f"Redis at {REDIS_URL} is unreachable: {exc}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return REDIS_URL


@pytest.fixture
def queue_settings(settings: Settings, redis_url: str) -> Iterator[Settings]:
    name = f"planner-test-{uuid.uuid4().hex[:12]}"
    yield dataclasses.replace(
        settings,
        redis_url=redis_url,
        queue_name=name,
        allow_private_sources=True,
        source_retry_s=0.5,
        job_heartbeat_s=HEARTBEAT_S,
    )
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"saq:*{name}*"):
        client.delete(key)
    client.close()


class Workers:
    """`planner worker` processes on the test's queue and database."""

    def __init__(self, settings: Settings, tmp: Path) -> None:
        self.settings = settings
        self.tmp = tmp
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DATABASE_URL": self.settings.database_url,
            "REDIS_URL": self.settings.redis_url or "",
            "QUEUE_NAME": self.settings.queue_name,
            "ALLOW_PRIVATE_SOURCES": "1",
            "SOURCE_RETRY_S": str(self.settings.source_retry_s),
            "JOB_HEARTBEAT_S": str(HEARTBEAT_S),
            "SOLVER_TIME_LIMIT_S": "10",
            "SECRET_KEY": "test-worker",
        }
        log = open(self.tmp / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [PLANNER, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def output(self) -> str:
        return "\n".join(
            path.read_text(errors="replace") for path in sorted(self.tmp.glob("worker-*.log"))
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(queue_settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(queue_settings, tmp_path)
    yield running
    running.stop()


@pytest.fixture
async def queue_client(queue_settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(create_app(queue_settings)) as client:
        yield client


async def plan_at(client: AsyncTestClient, key: str, base: str, version: int) -> dict[str, Any]:
    """The plan once it has reached `version`: the API caches a plan read for a second
    (api.repository.HotReads), so a worker's re-plan shows within that second."""

    async def read() -> dict[str, Any] | None:
        plan = (await client.get(f"{base}/plan", headers=auth(key))).json()
        return plan if plan["version"] >= version else None

    return await wait_for(read, 10.0)


async def test_the_worker_imports_a_source_and_replans_when_it_changes(
    queue_client, coach_key, calendar, workers
):
    client, key = queue_client, coach_key
    workers.start()
    monday = next_monday()
    events = amateur_weeks(monday, 4)
    calendar.serve(ics(events))
    athlete = await create_athlete(client, key)
    base = f"/api/v1/athletes/{athlete['id']}"
    added = await client.post(
        f"{base}/calendar-sources", json={"url": calendar.url}, headers=auth(key)
    )
    assert added.status_code == 201, added.text
    job = await job_done(client, key, added.json()["job_id"])
    assert job["state"] == "done", (job, workers.output()[-3000:])
    source = await source_of(client, key, athlete["id"])
    # SAQ may run a job twice (a sweep racing a dequeue): the repeat finds nothing new
    assert source["status"] in ("ok", "not_modified"), source
    assert source["last_result"]["created"] == 12, source
    made = await client.post(
        f"{base}/plan", json={"start": monday.isoformat(), "weeks": 4}, headers=auth(key)
    )
    assert made.status_code == 201, made.text
    before = {s["uid"]: s["start"] for s in made.json()["sessions"]}

    # the calendar changes at the source; the next refresh re-plans, published sessions kept
    uid, start, minutes, title = events[4]
    events[4] = (uid, start + timedelta(days=1), minutes, title)
    calendar.serve(ics(events))
    refreshed = await client.post(
        f"{base}/calendar-sources/{source['id']}/refresh", headers=auth(key)
    )
    job = await job_done(client, key, refreshed.json()["job_id"])
    assert job["state"] == "done", job
    source = await source_of(client, key, athlete["id"])
    assert source["last_result"]["updated"] == 1 and source["last_result"]["replanned"], source
    plan = await plan_at(client, key, base, made.json()["version"] + 1)
    assert plan["version"] == made.json()["version"] + 1
    after = {s["uid"]: s["start"] for s in plan["sessions"]}
    kept = [u for u, at in before.items() if after.get(u) == at]
    assert len(kept) >= 0.8 * len(before), (len(kept), len(before))

    # a 304 does nothing
    refreshed = await client.post(
        f"{base}/calendar-sources/{source['id']}/refresh", headers=auth(key)
    )
    await job_done(client, key, refreshed.json()["job_id"])
    assert calendar.requests[-1].get("if-none-match")
    source = await source_of(client, key, athlete["id"])
    assert source["status"] == "not_modified", source
    await asyncio.sleep(1.1)  # past the API's one-second plan read cache
    assert (await client.get(f"{base}/plan", headers=auth(key))).json()["version"] == plan[
        "version"
    ]

    # a 500 is recorded, and the worker tries again by itself
    calendar.status = 500
    asked = len(calendar.requests)
    refreshed = await client.post(
        f"{base}/calendar-sources/{source['id']}/refresh", headers=auth(key)
    )
    job = await job_done(client, key, refreshed.json()["job_id"])
    assert job["state"] == "failed" and "HTTP 500" in job["athletes"][0]["detail"], job

    async def retried() -> dict[str, Any] | None:
        found = await source_of(client, key, athlete["id"])
        return found if found["failures"] >= 2 else None

    source = await wait_for(retried)
    assert source["status"] == "error" and "HTTP 500" in source["reason"], source
    assert len(calendar.requests) >= asked + 2
    calendar.status = None  # mended: the next retry succeeds by itself

    async def recovered() -> dict[str, Any] | None:
        found = await source_of(client, key, athlete["id"])
        return found if found["failures"] == 0 else None

    source = await wait_for(recovered)
    assert source["status"] in ("ok", "not_modified"), source

    metrics = (await client.get("/metrics")).text
    assert 'planner_queue_depth{state="queued"}' in metrics
    lines = [line for line in workers.output().splitlines() if '"event":"job"' in line]
    assert any(athlete["id"] in line and '"job_id"' in line for line in lines), lines[-5:]
    # bare JSON, each with its time (a log shipper reads them as they are)
    assert all(json.loads(line)["ts"] for line in lines), lines[-5:]


async def test_a_private_address_is_refused_without_the_flag(queue_settings, coach_key, calendar):
    settings = dataclasses.replace(queue_settings, allow_private_sources=False)
    async with AsyncTestClient(create_app(settings)) as client:
        athlete = await create_athlete(client, coach_key)
        answer = await client.post(
            f"/api/v1/athletes/{athlete['id']}/calendar-sources",
            json={"url": calendar.url},
            headers=auth(coach_key),
        )
        assert answer.status_code == 422, answer.text
        assert "private, loopback or link-local" in answer.json()["detail"]
    assert calendar.requests == []


async def test_a_worker_killed_mid_job_is_replaced_and_nothing_is_planned_twice(
    queue_client, coach_key, calendar, workers
):
    client, key = queue_client, coach_key
    monday = next_monday()
    events = amateur_weeks(monday, 4)
    calendar.serve(ics(events))
    first = workers.start()
    athlete = await create_athlete(client, key)
    base = f"/api/v1/athletes/{athlete['id']}"
    added = await client.post(
        f"{base}/calendar-sources", json={"url": calendar.url}, headers=auth(key)
    )
    await job_done(client, key, added.json()["job_id"])
    made = await client.post(
        f"{base}/plan", json={"start": monday.isoformat(), "weeks": 4}, headers=auth(key)
    )
    version = made.json()["version"]
    source = await source_of(client, key, athlete["id"])

    # the source changes and stalls: the worker is in the middle of the refresh when killed
    uid, start, minutes, title = events[7]
    events[7] = (uid, start + timedelta(hours=2), minutes, title)
    calendar.serve(ics(events))
    calendar.delay_s = 30.0
    asked = len(calendar.requests)
    refreshed = await client.post(
        f"{base}/calendar-sources/{source['id']}/refresh", headers=auth(key)
    )
    job_id = refreshed.json()["job_id"]

    async def fetching() -> bool:
        return len(calendar.requests) > asked

    await wait_for(fetching)
    second = workers.start()
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    calendar.delay_s = 0.0
    job = await job_done(client, key, job_id, timeout=90.0)
    assert job["state"] == "done", (job, workers.output()[-3000:])
    assert job["athletes"][0]["attempts"] >= 2, job  # the killed try and the retry
    assert second.poll() is None
    plan = await plan_at(client, key, base, version + 1)
    await asyncio.sleep(1.5)  # past the read cache: the stored version, not a cached one
    plan = (await client.get(f"{base}/plan", headers=auth(key))).json()
    assert plan["version"] == version + 1  # planned once
    rides = (await client.get(f"{base}/rides", headers=auth(key))).json()
    assert len(rides) == len(events)
    uids = [s["uid"] for s in plan["sessions"]]
    assert len(uids) == len(set(uids))

    # a roster re-plan through the queue: once per athlete, however often a try repeats
    answer = await client.post("/api/v1/replan", json={"athlete_ids": None}, headers=auth(key))
    assert answer.status_code == 202, answer.text
    job = await job_done(client, key, answer.json()["job_id"], timeout=60.0)
    assert job["state"] == "done" and job["done"] == 1, job
    await plan_at(client, key, base, plan["version"] + 1)
    await asyncio.sleep(1.5)
    again = (await client.get(f"{base}/plan", headers=auth(key))).json()
    assert again["version"] == plan["version"] + 1


async def test_health_and_a_waiting_job_say_when_no_worker_runs_the_queue(
    queue_client, coach_key, workers
):
    # the API alone: plans and feeds are served, queued jobs wait, and say why
    alone = await queue_client.get("/health")
    assert alone.status_code == 200, alone.text
    assert alone.json()["status"] == "degraded"
    assert alone.json()["workers"] == 0 and "no worker" in alone.json()["jobs"]
    athlete = await create_athlete(queue_client, coach_key)
    accepted = await queue_client.post(
        "/api/v1/replan", json={"athlete_ids": [athlete["id"]]}, headers=auth(coach_key)
    )
    assert accepted.status_code == 202, accepted.text
    job_path = f"/api/v1/jobs/{accepted.json()['job_id']}"
    waiting = (await queue_client.get(job_path, headers=auth(coach_key))).json()
    assert waiting["state"] == "queued" and "no worker running" in waiting["waiting"], waiting
    # the same re-plan sent again while nothing of it has started is that job (forty sent at
    # once queued forty: a coach's trial); another set of athletes is a job of its own
    for _ in range(3):
        again = await queue_client.post(
            "/api/v1/replan", json={"athlete_ids": [athlete["id"]]}, headers=auth(coach_key)
        )
        assert again.status_code == 202, again.text
        assert again.json()["job_id"] == accepted.json()["job_id"]
    other = await create_athlete(queue_client, coach_key)
    wider = await queue_client.post("/api/v1/replan", json=None, headers=auth(coach_key))
    assert wider.status_code == 202 and wider.json()["job_id"] != accepted.json()["job_id"]
    assert (
        len(
            (
                await queue_client.get(
                    f"/api/v1/jobs/{wider.json()['job_id']}", headers=auth(coach_key)
                )
            ).json()["athletes"]
        )
        == 2
    ), other
    workers.start()
    finished = await job_done(queue_client, coach_key, accepted.json()["job_id"])
    assert finished["waiting"] is None, finished
    assert (await job_done(queue_client, coach_key, wider.json()["job_id"]))["state"] == "done"

    async def healthy() -> dict[str, Any] | None:
        body = (await queue_client.get("/health")).json()
        return body if body["status"] == "ok" else None

    body = await wait_for(healthy, 30.0)
    assert body["workers"] == 1 and body["jobs"] == "ok" and body["database"] == "ok"


async def test_health_says_when_the_queue_is_unreachable(queue_settings):
    # a closed port: Redis gone
    gone = dataclasses.replace(queue_settings, redis_url="redis://127.0.0.1:9/0")
    async with AsyncTestClient(create_app(gone)) as client:
        answer = await client.get("/health")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "status": "degraded",
        "database": "ok",
        "jobs": "queue unreachable",
        "runs_in": "workers",
    }


def test_a_worker_whose_queue_does_not_answer_exits_with_one_line(tmp_path):
    """An operator's trial: with Redis out of reach at start, `planner worker` never exited and
    spun a core, logging a traceback a second. It says so in one line and exits 1."""
    from live import free_port

    env = {
        **os.environ,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
    }
    done = subprocess.run(
        [PLANNER, "worker"], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 1, done
    assert "planner worker: error: the queue at" in done.stderr
    assert "Traceback" not in done.stderr


async def test_a_failed_dequeue_waits_before_the_next():
    """SAQ starts the next dequeue the moment one fails: with Redis gone it spun a core. The
    worker's queue waits QUEUE_PAUSE_S after a failure."""
    import time

    from api.jobs import QUEUE_PAUSE_S, pause_when_the_queue_fails

    class Gone:
        calls = 0

        async def dequeue(self, **_: Any) -> None:
            self.calls += 1
            raise ConnectionError("Redis is gone")

    queue = Gone()
    pause_when_the_queue_fails(queue)
    began = time.monotonic()
    with pytest.raises(ConnectionError):
        await queue.dequeue(timeout=0)
    assert time.monotonic() - began >= QUEUE_PAUSE_S * 0.9
    assert queue.calls == 1


async def test_the_queue_says_which_jobs_it_still_holds(queue_settings):
    """fail_lost asks before failing a late row: a job Redis still holds is left to run."""
    from api.runner import SaqRunner, saq_config

    queue = saq_config(queue_settings).get_queues().get(queue_settings.queue_name)
    await queue.connect()
    try:
        runner = SaqRunner(queue_settings, queue)
        key = f"replan:{uuid.uuid4()}:{uuid.uuid4()}"
        assert await runner.enqueue("replan_athlete", key=key, athlete_id="a", job_id="j")
        assert await runner.holds([key, f"replan:{uuid.uuid4()}:{uuid.uuid4()}"]) == [True, False]
    finally:
        await queue.disconnect()
