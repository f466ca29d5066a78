"""No secret reaches a log: feed and check-in tokens in paths, and coach keys, are redacted.

The first test runs the real thing: `planner serve` in a subprocess with its own logging, a feed
read through it, and its whole output read afterwards."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from calendar_server import CalendarServer, amateur_weeks, ics
from conftest import auth
from live import free_port
from support import athlete_body, next_monday

from api.app import create_app
from api.logs import REDACTED, RedactSecrets, redact
from api.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
FEED_TOKEN = "feed_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v"
SIGNED = "eyJhdGhsZXRlIjoxfQ.c2lnbmF0dXJl"


def planner_command() -> list[str]:
    # `planner` is api.cli:main; run as a module from the checkout under test, since the
    # installed script would import whichever checkout the environment was installed from
    return [sys.executable, "-m", "api.cli"]


def wait_until_up(base: str, server: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"planner serve exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("planner serve did not answer /health in time")


async def test_planner_serve_logs_feed_and_checkin_paths_redacted_and_never_a_coach_key(
    database_url, coach_key, tmp_path
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": database_url, "PUBLIC_URL": base, "DEBUG": ""}
    env["ALLOW_PRIVATE_SOURCES"] = "1"  # the followed calendar below is on this machine
    log_path = tmp_path / "serve.log"
    calendar = CalendarServer()
    calendar.serve(ics(amateur_weeks(next_monday(), 1)))
    # a followed calendar's address carries its own credentials (a new user's trial saw
    # httpx log it whole): user, password and a token in the query
    source_url = calendar.url.replace("http://", "http://rider:CALPASS@") + "?token=CALTOKEN"
    with calendar, log_path.open("wb") as log:
        server = subprocess.Popen(
            [*planner_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(base, server)
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                created = await client.post(
                    "/api/v1/athletes", json=athlete_body(), headers=auth(coach_key)
                )
                assert created.status_code == 201, created.text
                planned = await client.post(
                    f"/api/v1/athletes/{created.json()['id']}/plan",
                    json={"weeks": 1},
                    headers=auth(coach_key),
                )
                assert planned.status_code == 201, planned.text
                feed_path = "/feeds/" + created.json()["feed_url"].rsplit("/feeds/", 1)[1]
                token = feed_path.removeprefix("/feeds/").removesuffix(".ics")
                assert token.startswith("feed_")
                read = await client.get(feed_path)
                assert read.status_code == 200, read.text
                assert (await client.get(feed_path + "?x=1")).status_code == 200
                assert (await client.get(f"/feeds/{FEED_TOKEN}.ics")).status_code == 404
                await client.get(f"/checkin/{SIGNED}")
                await client.get(f"/checkin/{SIGNED}/done?rpe=5")
                athlete_base = f"/api/v1/athletes/{created.json()['id']}"
                added = await client.post(
                    f"{athlete_base}/calendar-sources",
                    json={"url": source_url},
                    headers=auth(coach_key),
                )
                assert added.status_code == 201, added.text
                for _ in range(150):  # the API runs the refresh itself (no REDIS_URL)
                    listed = await client.get(
                        f"{athlete_base}/calendar-sources", headers=auth(coach_key)
                    )
                    if listed.json()[0]["status"] != "pending":
                        break
                    time.sleep(0.1)
                assert listed.json()[0]["status"] == "ok", listed.text
            # the request lines go through a queue to the log: wait for the last one before
            # stopping the server (a busy machine may still hold it when SIGINT arrives)
            for _ in range(100):
                if "?rpe=5" in log_path.read_text(errors="replace"):
                    break
                time.sleep(0.1)
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    output = log_path.read_text(errors="replace")

    # bare JSON lines, each with its time (an operator's trial: "INFO:     {...}" with no
    # time was no line a log shipper reads as JSON)
    requests = [
        json.loads(line)
        for line in output.splitlines()
        if '"event":"request"' in line and '"route":"/health"' not in line
    ]
    assert all(r["ts"].endswith("Z") and r["level"] == "info" for r in requests), output
    seen = {(r["method"], r["path"], r["status"]) for r in requests}
    assert ("GET", "/feeds/<redacted>.ics", 200) in seen, output
    assert ("GET", "/feeds/<redacted>.ics?x=1", 200) in seen, output
    assert ("GET", "/feeds/<redacted>.ics", 404) in seen, output
    assert any(m == "GET" and p == "/checkin/<redacted>" for m, p, _ in seen), output
    assert any(m == "GET" and p == "/checkin/<redacted>?rpe=5" for m, p, _ in seen), output
    # one line per request: uvicorn's access line is off under planner serve
    assert 'HTTP/1.1" 200' not in output, output
    # the calendar-source requests (one add, a few polls) aside
    assert len([r for r in requests if "calendar-sources" not in r["route"]]) == 7, output
    for secret in (token, FEED_TOKEN, SIGNED, coach_key, "CALPASS", "CALTOKEN"):
        assert secret not in output, (secret, output)


@pytest.mark.parametrize(
    "line, kept",
    [
        (f"GET /feeds/{FEED_TOKEN}.ics HTTP/1.1", "GET /feeds/<redacted>.ics HTTP/1.1"),
        (f"HEAD /feeds/{FEED_TOKEN} 404", "HEAD /feeds/<redacted> 404"),
        (f"GET /checkin/{SIGNED}/done?rpe=5", "GET /checkin/<redacted>?rpe=5"),
        (
            f"feed_url http://x/feeds/{FEED_TOKEN}.ics",
            "feed_url http://x/feeds/<redacted>.ics",
        ),
        (f"Authorization: Bearer coach_{'k' * 43}", "Authorization: Bearer <redacted>"),
        (f"key coach_{'k' * 43} minted", "key coach_<redacted> minted"),
        ("GET /feeds/<redacted>.ics", "GET /feeds/<redacted>.ics"),
        ("GET /api/v1/athletes HTTP/1.1", "GET /api/v1/athletes HTTP/1.1"),
        (
            "HTTP Request: GET http://user:pw@127.0.0.1:8332/cal.ics?token=SECRET1 200",
            "HTTP Request: GET http://<redacted>@127.0.0.1:8332/<redacted> 200",
        ),
        (
            "GET https://calendar.google.com/calendar/ical/a%40b.c/private-9f8e7d/basic.ics",
            "GET https://calendar.google.com/<redacted>",
        ),
        ("webcal://example.org/ical/tok123.ics failed", "webcal://example.org/<redacted> failed"),
    ],
    ids=[
        "feed path",
        "feed path without .ics",
        "check-in path",
        "feed url",
        "bearer header",
        "bare coach key",
        "already redacted",
        "no secret",
        "followed calendar: user and query",
        "followed calendar: private path",
        "followed calendar: webcal",
    ],
)
def test_redact_replaces_each_kind_of_secret_and_leaves_the_rest(line, kept):
    assert redact(line) == kept


@pytest.mark.parametrize(
    "path",
    ["/CHECKIN/{token}", "/Checkin/{token}/morning", "/api/v1/{token}", "/sessions/{token}?x=1"],
)
def test_a_check_in_token_off_its_path_is_redacted(path):
    """A check-in token under another spelling of its path, or none, was logged whole (a
    hostile-input trial): its own shape is redacted wherever it stands as a path segment."""
    from api.web.signing import checkin_token

    token = checkin_token("secret", "feed-hash", "session-uid@planner")
    line = f'"path":"{path.format(token=token)}","route":"unmatched"'
    cleaned = redact(line)
    assert token not in cleaned and token.split(".")[1] not in cleaned, cleaned
    assert REDACTED in cleaned


def test_uvicorns_access_record_keeps_its_shape_and_loses_the_token():
    """uvicorn builds the access line from the record's arguments (client, method, path,
    HTTP version, status): the filter must keep them five, with the status a number."""
    from uvicorn.logging import AccessFormatter

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/feeds/{FEED_TOKEN}.ics", "1.1", 200),
        None,
    )
    assert RedactSecrets().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s').format(record)
    assert line == '127.0.0.1:5000 - "GET /feeds/<redacted>.ics HTTP/1.1" 200 OK'


def test_a_logged_traceback_is_redacted_too():
    try:
        raise LookupError(f"no feed for /feeds/{FEED_TOKEN}.ics")
    except LookupError:
        record = logging.LogRecord(
            "litestar", logging.ERROR, __file__, 1, "Uncaught exception", (), sys.exc_info()
        )
    RedactSecrets().filter(record)
    text = logging.Formatter().format(record)
    assert "/feeds/<redacted>.ics" in text and FEED_TOKEN not in text


def test_the_apps_litestar_logger_redacts_the_path_of_an_uncaught_exception():
    """Litestar logs an uncaught exception as `Uncaught exception (connection_type=http,
    path='/feeds/...')` on its `litestar` logger; the app's logging config filters that logger."""
    create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger = logging.getLogger("litestar")
    keep = Keep()
    logger.addHandler(keep)
    try:
        logger.error(
            "Uncaught exception (connection_type=%s, path=%r):", "http", f"/feeds/{FEED_TOKEN}.ics"
        )
    finally:
        logger.removeHandler(keep)
    assert seen == ["Uncaught exception (connection_type=http, path='/feeds/<redacted>.ics'):"]


def _unmatched_404s(metrics_text: str) -> float:
    line = 'planner_http_requests_total{method="GET",route="unmatched",status="404"}'
    for row in metrics_text.splitlines():
        if row.startswith(line):
            return float(row.rsplit(" ", 1)[1])
    return 0.0


async def test_a_path_no_route_matches_is_counted_and_logged_once_without_its_token(client, caplog):
    before = _unmatched_404s((await client.get("/metrics")).text)
    with caplog.at_level(logging.INFO, logger="planner.requests"):
        answer = await client.get(f"/checkin/{SIGNED}/nowhere/else?x=1")
    assert answer.status_code == 404
    after = _unmatched_404s((await client.get("/metrics")).text)
    assert after == before + 1
    lines = [r.getMessage() for r in caplog.records if r.name == "planner.requests"]
    assert len(lines) == 1, lines
    logged = json.loads(lines[0])
    assert (logged["route"], logged["status"]) == ("unmatched", 404)
    assert SIGNED not in lines[0] and "<redacted>" in logged["path"]


@pytest.mark.parametrize(
    "query",
    [
        "token=Bearer%20{key}",
        "k=x%3A{key}",
        "u=%2Ffeeds%2F{feed}.ics",
        "next=%2Fcheckin%2F{signed}",
        "k={signed}",
        "k=Bearer+{key}",
    ],
)
async def test_secrets_in_a_percent_encoded_query_never_reach_the_request_log(
    client, coach_key, caplog, query
):
    """A hostile trial: the request line logged the query as sent, still percent-encoded, and
    the redaction missed a key after %20 or %3A, a feed path written %2Ffeeds%2F, and a bare
    check-in token as a query value."""
    # a check-in token's own shape: the session UID, a dot, a 16-byte signature (22 chars)
    token = "24e53f0d-148c-411d-b1d2-df2a9ee365e1.c2lnbmF0dXJlX3NpZ25hdH"
    sent = query.format(key=coach_key, feed=FEED_TOKEN, signed=token)
    with caplog.at_level(logging.INFO, logger="planner.requests"):
        await client.get(f"/health?{sent}")
    lines = [r.getMessage() for r in caplog.records if r.name == "planner.requests"]
    assert lines
    for secret in (coach_key, FEED_TOKEN, token):
        assert all(secret not in line for line in lines), lines
    assert any(REDACTED in line for line in lines), lines


async def test_a_500_logs_its_traceback_redacted_and_a_client_error_logs_none(
    client, coach_key, caplog, monkeypatch
):
    """Litestar logs uncaught exceptions only in debug mode by default: an operator would see a
    bare 500 with nothing to go on. The traceback is logged, with secrets redacted."""
    import api.system

    def broken():
        raise LookupError(f"library lost near /feeds/{FEED_TOKEN}.ics")

    monkeypatch.setattr(api.system, "load_library", broken)
    with caplog.at_level(logging.ERROR):
        answer = await client.get("/api/v1/exercises", headers=auth(coach_key))
        missing = await client.get("/api/v1/athletes/nope", headers=auth(coach_key))
    assert answer.status_code == 500 and missing.status_code in (404, 422)
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "LookupError" in logged and "Traceback" in logged, logged
    assert "/feeds/<redacted>.ics" in logged and FEED_TOKEN not in logged
    assert "nope" not in logged, "a client's 4xx is not logged as an error"


async def test_a_planner_input_error_is_a_422_and_not_logged_as_a_server_error(
    client, coach_key, caplog, monkeypatch
):
    import api.system
    from planner.errors import PlannerInputError

    def refused():
        raise PlannerInputError("rides overlap: 'A' and 'B'", field="rides")

    monkeypatch.setattr(api.system, "load_library", refused)
    with caplog.at_level(logging.ERROR):
        answer = await client.get("/api/v1/exercises", headers=auth(coach_key))
    assert answer.status_code == 422, answer.text
    assert not [r for r in caplog.records if "Uncaught exception" in r.getMessage()]


async def test_a_job_that_fails_every_attempt_logs_one_json_line_with_its_traceback(
    settings, caplog, monkeypatch
):
    """A review: the in-process runner logged a job's last failure as plain text and a bare
    traceback on a logger whose lines are read as JSON."""
    import asyncio

    from api.jobs import FUNCTIONS
    from api.runner import LocalRunner

    async def broken(ctx, **kwargs):
        raise ValueError("no luck")

    monkeypatch.setitem(FUNCTIONS, "broken_for_test", broken)
    runner = LocalRunner(settings)
    await runner.start()
    try:
        with caplog.at_level(logging.INFO, logger="planner.jobs"):
            await runner.enqueue("broken_for_test", key="broken:1")
            for _ in range(100):
                if not runner.keys:
                    break
                await asyncio.sleep(0.05)
    finally:
        await runner.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "planner.jobs"]
    failed = [json.loads(line) for line in lines if "failed 3 times" in line]
    assert len(failed) == 1, lines
    assert "ValueError: no luck" in failed[0]["traceback"] and failed[0]["level"] == "error"
