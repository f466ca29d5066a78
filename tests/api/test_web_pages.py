"""The coach's pages and the athletes' check-in over HTTP, on SQLite and PostgreSQL: who may
read and write what (cookie, CSRF, tenancy, signed links), and that the JSON API is unchanged."""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import support
from conftest import auth
from litestar.testing import AsyncTestClient
from support import feed_path, first_strength, next_monday

from api import clock
from api.app import create_app
from api.security import digest
from api.web.signing import SESSION_COOKIE, checkin_token, read_session, sign_session
from planner.library import load_library

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def csrf_of(client: AsyncTestClient, path: str) -> str:
    page = await client.get(path)
    match = CSRF.search(page.text)
    assert match, page.text[:500]
    return match.group(1)


async def sign_in(client: AsyncTestClient, key: str) -> None:
    token = await csrf_of(client, "/app/sign-in")
    answer = await client.post(
        "/app/sign-in", data={"key": key, "next": "/app/", "_csrf_token": token}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/app/"


async def planned(client, key: str, weeks: int = 2, **athlete: Any) -> dict[str, Any]:
    return await support.planned(client, key, weeks, **athlete)


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    """The suite's client, but redirects are answers to read, not to follow."""
    async with AsyncTestClient(create_app(settings)) as test_client:
        test_client.follow_redirects = False
        yield test_client


@pytest.fixture
def after(monkeypatch: pytest.MonkeyPatch):
    """Move the service's clock to just after a session, so it takes feedback."""

    def move(session: dict[str, Any]) -> None:
        moment = datetime.fromisoformat(session["end"]) + timedelta(minutes=5)
        monkeypatch.setattr(clock, "now", lambda: moment.astimezone(UTC))

    return move


async def feed_links(client: AsyncTestClient, feed_url: str) -> dict[str, str]:
    """UID -> check-in link, from the feed's URL properties."""
    answer = await client.get(feed_path(feed_url))
    assert answer.status_code == 200
    events = icalendar.Calendar.from_ical(answer.content).walk("VEVENT")
    links = {str(e["UID"]): str(e["URL"]) for e in events}
    for event in events:
        assert str(event["URL"]) in str(event["DESCRIPTION"])
    return links


def path_of(link: str) -> str:
    return "/checkin/" + link.split("/checkin/", 1)[1]


async def checkin_page(
    client: AsyncTestClient, key: str, after: Any, **athlete: Any
) -> tuple[dict[str, Any], str, Any, str]:
    """A planned athlete's first strength session opened from its feed link once it is over:
    the plan, the link, the page and its CSRF token."""
    made = await planned(client, key, **athlete)
    session = first_strength(made["plan"])
    links = await feed_links(client, made["athlete"]["feed_url"])
    link = path_of(links[session["uid"]])
    after(session)
    page = await client.get(link)
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    return made, link, page, token


# --- sign-in, cookie, CSRF --------------------------------------------------------------------


async def test_every_coach_page_without_a_cookie_redirects_to_sign_in(client, coach_key):
    made = await planned(client, coach_key)
    session = first_strength(made["plan"])
    athlete = made["athlete"]["id"]
    for path in (
        "/app/",
        f"/app/athletes/{athlete}",
        f"/app/athletes/{athlete}/sessions/{session['id']}",
    ):
        answer = await client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/app/sign-in?next="), path
    # a form posted with a valid CSRF token but no coach cookie changes nothing either
    token = await csrf_of(client, "/app/sign-in")
    for path in (
        f"/app/athletes/{athlete}/plan",
        f"/app/athletes/{athlete}/clearance",
        f"/app/athletes/{athlete}/approvals",
        f"/app/athletes/{athlete}/feed-token",
        f"/app/athletes/{athlete}/days-off",
        f"/app/athletes/{athlete}/sessions/{session['id']}",
    ):
        answer = await client.post(path, data={"_csrf_token": token})
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/app/sign-in"), path
    listed = await client.get(made["base"], headers=auth(coach_key))
    assert listed.json()["version"] == made["athlete"]["version"]


async def test_signing_in_from_a_deep_link_lands_on_that_page(client, coach_key):
    """The sign-in form's `next` was always /app/ (the handler read a query parameter named
    `next_`): a coach opening an athlete's link landed on the roster (a trial)."""
    made = await planned(client, coach_key)
    page = f"/app/athletes/{made['athlete']['id']}"
    redirected = await client.get(page)
    form = await client.get(redirected.headers["location"])
    assert f'name="next" value="{page}"' in form.text, form.text
    token = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    answer = await client.post(
        "/app/sign-in", data={"key": coach_key, "next": page, "_csrf_token": token}
    )
    assert (answer.status_code, answer.headers["location"]) == (303, page)


async def test_a_form_sent_after_signing_out_says_it_was_not_saved_and_returns_to_its_page(
    client, coach_key
):
    """A re-plan sent after signing out in another tab landed on the sign-in form with no word
    that nothing was saved, and then on the roster (a trial)."""
    made = await planned(client, coach_key)
    athlete = f"/app/athletes/{made['athlete']['id']}"
    token = await csrf_of(client, "/app/sign-in")
    answer = await client.post(f"{athlete}/plan", data={"_csrf_token": token, "weeks": "2"})
    assert answer.status_code == 303
    form = await client.get(answer.headers["location"])
    assert f'name="next" value="{athlete}"' in form.text, form.text
    assert "was not saved" in form.text, form.text


@pytest.mark.parametrize(
    "path", ["/app/nope", "/app/athletes/not-a-uuid", "/checkin/", "/app/static/nope.css"]
)
async def test_a_page_that_is_not_there_is_a_page_not_json(client, path):
    """/app/athletes/not-a-uuid and the like showed the API's JSON error (a trial)."""
    answer = await client.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html"), answer.text
    # a check-in path says what a link that does not work means
    assert ("does not work" if path.startswith("/checkin/") else "Not found") in answer.text


async def test_sign_in_sets_a_signed_httponly_lax_cookie_and_a_wrong_key_is_refused(
    client, coach_key
):
    token = await csrf_of(client, "/app/sign-in")
    wrong = await client.post("/app/sign-in", data={"key": "coach_nope", "_csrf_token": token})
    assert wrong.status_code == 401
    assert "not known" in wrong.text and SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    right = await client.post("/app/sign-in", data={"key": coach_key, "_csrf_token": token})
    cookie = right.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert coach_key not in cookie
    assert (await client.get("/app/")).status_code == 200
    # a forged cookie is no session
    client.cookies.set(SESSION_COOKIE, cookie.split(";")[0].split("=", 1)[1][:-2] + "xx")
    assert (await client.get("/app/")).status_code == 303
    # signing out ends it
    await sign_in(client, coach_key)
    out = await client.post("/app/sign-out", data={"_csrf_token": token})
    assert out.status_code == 303
    assert (await client.get("/app/")).status_code == 303


async def test_signing_out_ends_every_copy_of_the_session_and_pages_are_not_stored(
    client, coach_key, settings
):
    """Signing out deleted the browser's cookie only: a copy of it kept signing in for its 14
    days, and Back showed the roster from the browser's cache (a new user's trial)."""
    await sign_in(client, coach_key)
    session = read_session(settings.secret_key, client.cookies.get(SESSION_COOKIE))
    assert session is not None
    roster = await client.get("/app/")
    assert roster.status_code == 200
    assert roster.headers["cache-control"] == "no-store"
    # a copy of the cookie, made a minute before the sign-out, and one made just before it,
    # in its very second (whole seconds let that one through: a hostile-input trial)
    copy = sign_session(
        settings.secret_key, session.coach_id, digest(coach_key), now=time.time() - 60
    )
    just_before = sign_session(settings.secret_key, session.coach_id, digest(coach_key))
    signed_in = client.cookies.get(SESSION_COOKIE)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, copy)
    assert (await client.get("/app/")).status_code == 200, "good until the sign-out"
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, signed_in)
    token = await csrf_of(client, "/app/")
    out = await client.post("/app/sign-out", data={"_csrf_token": token})
    assert out.status_code == 303
    for kept in (copy, just_before):
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, kept)
        refused = await client.get("/app/")
        assert refused.status_code == 303, "signed out"
        assert refused.headers["location"].startswith("/app/sign-in")
    # signing in again (in the same second, too) works
    client.cookies.clear()
    await sign_in(client, coach_key)
    assert (await client.get("/app/")).status_code == 200


async def test_the_cookie_is_secure_over_https(settings, coach_key):
    async with AsyncTestClient(create_app(settings), base_url="https://coach.example") as client:
        client.follow_redirects = False
        token = await csrf_of(client, "/app/sign-in")
        answer = await client.post("/app/sign-in", data={"key": coach_key, "_csrf_token": token})
        assert "Secure" in answer.headers["set-cookie"]


async def test_a_form_without_its_csrf_token_is_refused(client, coach_key):
    made = await planned(client, coach_key)
    await sign_in(client, coach_key)
    answer = await client.post(
        f"/app/athletes/{made['athlete']['id']}/feed-token", data={"nothing": "here"}
    )
    assert answer.status_code == 403
    assert "expired" in answer.text
    # the feed token did not change
    assert (await client.get(feed_path(made["athlete"]["feed_url"]))).status_code == 200
    # the sign-in form too
    refused = await client.post("/app/sign-in", data={"key": coach_key})
    assert refused.status_code == 403


async def test_a_url_encoded_body_over_the_form_limit_is_refused_before_it_is_parsed(client):
    """A hostile trial: 5 MB of "a=1&" to a page's form, with no cookie, was parsed whole by the
    CSRF check on the event loop and held every request for seconds. Over FORM_BODY_LIMIT a
    url-encoded body is a 413 by its length or, sent in chunks, as soon as it runs over."""
    from api.web.routes import FORM_BODY_LIMIT

    path = f"/app/athletes/{uuid.uuid4()}/rides"
    big = b"a=1&" * (FORM_BODY_LIMIT // 4 + 1)
    kind = {"content-type": "application/x-www-form-urlencoded"}
    answer = await client.post(path, content=big, headers=kind)
    assert answer.status_code == 413 and "at most" in answer.json()["detail"]

    # within the limit the form goes on to the CSRF check as before
    small = b"a=1&" * (FORM_BODY_LIMIT // 8)
    answer = await client.post(path, content=small, headers=kind)
    assert answer.status_code == 403


async def test_a_chunked_url_encoded_body_is_cut_off_once_it_runs_over_the_form_limit():
    """No Content-Length to judge by: the body is read into a buffer only up to the limit; the
    app behind never sees a request that runs over, and sees a smaller one whole."""
    from api.web.routes import FORM_BODY_LIMIT, limit_forms

    seen: list[bytes] = []

    async def app(scope, receive, send):
        message = await receive()
        seen.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def run(total: int) -> list[dict]:
        chunk = b"a=1&" * 1024
        messages = [
            {"type": "http.request", "body": chunk, "more_body": True}
            for _ in range(total // len(chunk))
        ] + [{"type": "http.request", "body": b"", "more_body": False}]
        sent: list[dict] = []

        async def receive():
            return messages.pop(0)

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http",
            "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
        }
        await limit_forms(app)(scope, receive, send)
        return sent

    over = await run(FORM_BODY_LIMIT * 80)  # 5 MB
    assert over[0]["status"] == 413 and seen == []
    within = await run(FORM_BODY_LIMIT // 2)
    assert within[0]["status"] == 200 and len(seen[0]) == FORM_BODY_LIMIT // 2


async def test_a_form_cut_off_by_a_disconnect_reaches_the_app_as_the_disconnect():
    """A review: the client went away after "pain_knee=1" of "pain_knee=10"; the buffered part
    was handed on as the whole form and stored as a green 1/10. The app gets the disconnect."""
    from api.web.routes import limit_forms

    got: list[dict] = []

    async def app(scope, receive, send):
        got.append(await receive())

    messages = [
        {"type": "http.request", "body": b"_csrf_token=x&pain_knee=1", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive():
        return messages.pop(0)

    async def send(message):
        raise AssertionError("nothing is answered to a client that left")

    scope = {"type": "http", "headers": [(b"content-type", b"application/x-www-form-urlencoded")]}
    await limit_forms(app)(scope, receive, send)
    assert got == [{"type": "http.disconnect"}]


async def test_the_json_api_and_feeds_take_no_csrf_and_set_no_cookie(client, coach_key):
    made = await planned(client, coach_key)
    rotated = await client.post(f"{made['base']}/feed-token", headers=auth(coach_key))
    assert rotated.status_code == 201
    assert "set-cookie" not in rotated.headers
    feed = await client.get(feed_path(rotated.json()["feed_url"]))
    assert feed.status_code == 200 and "set-cookie" not in feed.headers
    plan = await client.get(f"{made['base']}/plan", headers=auth(coach_key))
    assert "set-cookie" not in plan.headers


# --- tenancy ----------------------------------------------------------------------------------


async def test_another_coachs_athlete_answers_404_on_every_page(client, coach_key, other_key):
    theirs = await planned(client, other_key)
    session = first_strength(theirs["plan"])
    athlete = theirs["athlete"]["id"]
    await sign_in(client, coach_key)
    token = await csrf_of(client, "/app/")
    for path in (f"/app/athletes/{athlete}", f"/app/athletes/{athlete}/sessions/{session['id']}"):
        answer = await client.get(path)
        assert answer.status_code == 404, path
        assert "Not found" in answer.text
    for path, data in (
        (f"/app/athletes/{athlete}/plan", {"weeks": "2"}),
        (f"/app/athletes/{athlete}/clearance", {"region": "knee", "note": "x"}),
        (f"/app/athletes/{athlete}/approvals", {"exercise_id": "deadlift", "note": "x"}),
        (f"/app/athletes/{athlete}/feed-token", {}),
        (f"/app/athletes/{athlete}/days-off", {"date": "2030-01-07", "action": "add"}),
        (f"/app/athletes/{athlete}/sessions/{session['id']}", {"completed": "yes"}),
    ):
        answer = await client.post(path, data={**data, "_csrf_token": token})
        assert answer.status_code == 404, path
    roster = await client.get("/app/")
    assert athlete not in roster.text
    # nothing of theirs changed
    assert (await client.get(feed_path(theirs["athlete"]["feed_url"]))).status_code == 200
    plan = await client.get(f"{theirs['base']}/plan", headers=auth(other_key))
    assert plan.json()["version"] == theirs["plan"]["version"]
    mine = await client.get(theirs["base"], headers=auth(other_key))
    assert mine.json()["availability"]["exceptions"] == []


# --- the coach's forms go through the API's services ----------------------------------------------


async def test_coach_feedback_with_red_knee_pain_steps_the_ladder_down(client, coach_key, after):
    made = await planned(client, coach_key)
    session = first_strength(made["plan"])
    await sign_in(client, coach_key)
    page = f"/app/athletes/{made['athlete']['id']}/sessions/{session['id']}"
    # before the session starts the page says so and the API's 409 shows in place; pain sent
    # then is never refused: it is kept as a check-in, and the rest named as not counted
    early = await client.get(page)
    assert "once the session has started" in early.text
    token = await csrf_of(client, page)
    refused = await client.post(page, data={"completed": "yes", "_csrf_token": token})
    assert refused.status_code == 409 and "Not saved" in refused.text
    kept = await client.post(page, data={"completed": "yes", "pain_hip": "3", "_csrf_token": token})
    assert kept.status_code == 200 and "has not started" in kept.text, kept.text
    after(session)
    form = await client.get(page)
    assert 'name="pain_knee"' in form.text
    done = await client.post(
        page,
        data={
            "completed": "yes",
            "rpe": "7",
            "pain_knee": "6",
            "timing_knee": "after",
            "kind_knee": "pain",
            "_csrf_token": token,
        },
    )
    assert done.status_code == 200, done.text
    assert "What changed" in done.text
    progression = await client.get(f"{made['base']}/progression", headers=auth(coach_key))
    history = [c for p in progression.json()["patterns"] for c in p["history"]]
    assert any(c["to_level"] < c["from_level"] or "red" in c["reason"] for c in history) or any(
        r.get("zone") == "red" for r in progression.json()["regions"].values()
    )
    # a second time is the API's 409, shown in place
    again = await client.post(page, data={"completed": "yes", "_csrf_token": token})
    assert (
        again.status_code == 200
        and "Feedback for this session is in" in again.text
        or (again.status_code == 409)
    )


async def test_the_session_page_shows_what_was_logged(client, coach_key, after):
    """The page said only 'Feedback for this session is in': the coach could not see the
    athlete's effort, pain or loads."""
    made = await planned(client, coach_key)
    session = first_strength(made["plan"])
    first = session["prescriptions"][0]
    after(session)
    sent = await client.post(
        f"{made['base']}/sessions/{session['id']}/feedback",
        json={
            "completed": True,
            "rpe": 7,
            "pain": [{"region": "knee", "score": 3, "timing": "after"}],
            "exercises": [
                {"exercise_id": first["exercise_id"], "sets": 2, "reps": 9, "load_kg": 14}
            ],
        },
        headers=auth(coach_key),
    )
    assert sent.status_code == 201, sent.text
    await sign_in(client, coach_key)
    page = await client.get(f"/app/athletes/{made['athlete']['id']}/sessions/{session['id']}")
    assert page.status_code == 200
    assert "What was logged" in page.text
    assert "done, RPE 7" in page.text and "Knee pain 3/10 after" in page.text
    assert f"{first['name']}: 2 x 9 at 14 kg" in page.text, page.text[page.text.find("What was") :][
        :900
    ]


async def test_the_coachs_session_page_speaks_to_the_coach_when_nothing_changed(
    client, coach_key, after
):
    """The coach's own page answered 'Your coming sessions stay as they were', the athlete's
    words (a new user's trial); the check-in page keeps them."""
    made = await planned(client, coach_key)
    session = first_strength(made["plan"])
    await sign_in(client, coach_key)
    page = f"/app/athletes/{made['athlete']['id']}/sessions/{session['id']}"
    after(session)
    form = (await client.get(page)).text
    assert "Was it done?" in form and "Did you do it?" not in form
    token = await csrf_of(client, page)
    saved = await client.post(page, data={"completed": "yes", "rpe": "6", "_csrf_token": token})
    assert saved.status_code == 200, saved.text
    assert "No coming session changed." in saved.text, saved.text
    assert "Your coming sessions" not in saved.text


async def test_the_session_form_lists_what_it_did_not_count(client, coach_key, after):
    """A form whose RPE is out of range (a hand-made post: the page offers 1-10) or whose load is
    no number is saved with its pain, and the page lists what was left out and why."""
    made = await planned(client, coach_key)
    session = first_strength(made["plan"])
    await sign_in(client, coach_key)
    page = f"/app/athletes/{made['athlete']['id']}/sessions/{session['id']}"
    after(session)
    token = await csrf_of(client, page)
    saved = await client.post(
        page,
        data={
            "completed": "yes",
            "rpe": "15",
            "ex_0_id": session["prescriptions"][0]["exercise_id"],
            "ex_0_sets": "3",
            "ex_0_load": "heavy",
            "pain_knee": "2",
            "_csrf_token": token,
        },
    )
    assert saved.status_code == 200, saved.text
    assert "What changed" in saved.text and "Not counted" in saved.text
    assert "rpe:" in saved.text and "exercises.0" in saved.text


async def test_invalid_form_values_are_the_apis_422_shown_in_place(client, coach_key):
    made = await planned(client, coach_key)
    await sign_in(client, coach_key)
    page = f"/app/athletes/{made['athlete']['id']}"
    token = await csrf_of(client, page)
    # "²" passes str.isdigit() but is no number int() reads: it was a 500 (hostile-input trial)
    for weeks in ("99", "²", "١٢", "9" * 5000):  # 5000 digits: int() itself refuses
        answer = await client.post(f"{page}/plan", data={"weeks": weeks, "_csrf_token": token})
        assert answer.status_code == 422, (weeks, answer.status_code)
        assert "Not saved" in answer.text and "weeks" in answer.text
    plan = await client.get(f"{made['base']}/plan", headers=auth(coach_key))
    assert plan.json()["version"] == made["plan"]["version"]
    no_flag = await client.post(
        f"{page}/clearance", data={"region": "knee", "note": "ok", "_csrf_token": token}
    )
    assert no_flag.status_code == 409 and "no red flag" in no_flag.text


async def test_a_coach_form_sent_again_by_a_reload_is_not_done_twice(client, coach_key):
    """A reload of a clearance's answer sent it again and answered "Not saved: knee has no red
    flag waiting for clearance", which read as if the clearance had failed; a re-plan's reload
    re-planned again (a trial). The page's forms carry a one-time id."""
    made = await planned(client, coach_key)
    base, headers = made["base"], auth(coach_key)
    flag = {"region": "knee", "score": 5, "timing": "during", "flags": ["swelling"]}
    assert (await client.post(f"{base}/pain", json=flag, headers=headers)).status_code == 201
    await sign_in(client, coach_key)
    page = f"/app/athletes/{made['athlete']['id']}"
    drawn = (await client.get(page)).text
    form = drawn_form(drawn, region="knee", note="seen by physio")
    cleared = await client.post(f"{page}/clearance", data=form)
    assert cleared.status_code == 200 and "cleared" in cleared.text, cleared.text
    again = await client.post(f"{page}/clearance", data=form)
    assert again.status_code == 200, again.text
    assert "Saved already" in again.text and "Not saved" not in again.text
    version = (await client.get(f"{base}/plan", headers=headers)).json()["version"]
    drawn = (await client.get(page)).text
    replan = drawn_form(drawn, weeks="2")
    assert (await client.post(f"{page}/plan", data=replan)).status_code == 200
    after_one = (await client.get(f"{base}/plan", headers=headers)).json()["version"]
    assert "Saved already" in (await client.post(f"{page}/plan", data=replan)).text
    assert (await client.get(f"{base}/plan", headers=headers)).json()["version"] == after_one
    assert after_one != version


async def test_a_block_under_way_lists_all_its_past_sessions_to_log(client, coach_key):
    """The plan's warning sends the coach to the dashboard to log a block already under way,
    but 'Sessions to log' showed only the last 14 days (a new user's trial): a block begun
    six weeks ago lists its oldest sessions too, oldest first (40 at most, the rest counted)."""
    athlete = await support.create_athlete(client, coach_key, name="Six Weeks In")
    base = f"/api/v1/athletes/{athlete['id']}"
    began = next_monday() - timedelta(weeks=6)
    rides = await client.put(
        f"{base}/rides", json=support.weekly_rides(began, 10), headers=auth(coach_key)
    )
    assert rides.status_code == 200, rides.text
    made = await client.post(
        f"{base}/plan", json={"start": began.isoformat(), "weeks": 10}, headers=auth(coach_key)
    )
    assert made.status_code == 201, made.text
    now = datetime.now(UTC)
    past = [s for s in made.json()["sessions"] if datetime.fromisoformat(s["start"]) < now]
    oldest = datetime.fromisoformat(past[0]["start"])
    assert now - oldest > timedelta(days=14)
    await sign_in(client, coach_key)
    page = (await client.get(f"/app/athletes/{athlete['id']}")).text
    listed = re.findall(rf'href="/app/athletes/{athlete["id"]}/sessions/([^"]+)"', page)
    shown = min(len(past), 40)
    # oldest first: the engine reads reports in the order the sessions happened
    assert [s["id"] for s in past][:shown] == listed[:shown], (len(past), len(listed))
    if len(past) > 40:
        assert f"and {len(past) - 40} more after these" in page


async def test_this_week_and_next_run_as_the_plans_weeks_do(client, coach_key):
    """A plan from a Tuesday has Tuesday-to-Monday weeks: the page's two weeks were Monday to
    Sunday, so a week's phase and deload badge sat over the next week's days (a new user's
    trial read 'Next week: base deload'). They now open on the plan's weekday."""
    athlete = await support.create_athlete(client, coach_key, name="Tuesday Weeks")
    base = f"/api/v1/athletes/{athlete['id']}"
    today = datetime.now(ZoneInfo(support.BERLIN)).date()
    # the page opens on the last Tuesday up to today; the plan starts on the Tuesday after it
    # (a review: from next_monday(), on a Tuesday or a Monday it missed this page's weeks)
    tuesday = today - timedelta(days=(today.weekday() - 1) % 7) + timedelta(days=7)
    rides = await client.put(
        f"{base}/rides",
        json=support.weekly_rides(tuesday - timedelta(days=1), 6),
        headers=auth(coach_key),
    )
    assert rides.status_code == 200, rides.text
    made = await client.post(
        f"{base}/plan", json={"start": tuesday.isoformat(), "weeks": 5}, headers=auth(coach_key)
    )
    assert made.status_code == 201, made.text
    await sign_in(client, coach_key)
    page = (await client.get(f"/app/athletes/{athlete['id']}")).text
    days = re.findall(r'<li class="day[^"]*"[^>]*>\s*<h4>(\w{3}) (\d+) (\w{3})</h4>', page)
    assert len(days) == 14 and days[0][0] == "Tue" and days[7][0] == "Tue", days
    heads = re.findall(r'<h3 class="weekhead">([^<]*)', page)
    first = made.json()["weeks_report"][0]
    assert heads[1].strip() == f"Next week: {first['phase']}", heads
    assert days[7] == ("Tue", str(tuesday.day), f"{tuesday:%b}"), days


FORM_ID = re.compile(r'name="form_id" value="([^"]+)"')


async def coach_session_page(
    client: AsyncTestClient, key: str, after: Any
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A planned athlete's first strength session, its coach page's path, the coach signed in
    and the clock just after the session (it takes feedback)."""
    made = await planned(client, key)
    session = first_strength(made["plan"])
    await sign_in(client, key)
    after(session)
    return made, session, f"/app/athletes/{made['athlete']['id']}/sessions/{session['id']}"


def drawn_form(page: str, **fields: str) -> dict[str, str]:
    """A feedback form as the page drew it: the fields given, its CSRF token and one-time id."""
    csrf, form_id = CSRF.search(page), FORM_ID.search(page)
    assert csrf and form_id, "the page draws the form"
    return {**fields, "_csrf_token": csrf.group(1), "form_id": form_id.group(1)}


async def feedback_rows(settings: Any, athlete_id: str) -> list[tuple[str, str | None]]:
    """The athlete's stored reports: (kind, session UID), oldest first."""
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from api.db import FeedbackRow

    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(FeedbackRow.kind, FeedbackRow.session_uid)
                .where(FeedbackRow.athlete_id == uuid.UUID(athlete_id))
                .order_by(FeedbackRow.at)
            )
            return [tuple(r) for r in rows.all()]
    finally:
        await engine.dispose()


async def test_a_morning_check_in_sent_twice_is_kept_once(client, coach_key, settings):
    """Reloading the check-in's answer page sent the form again: two check-ins, its pain
    counted twice (a new user's trial). The form's one-time id is recognised."""
    made = await planned(client, coach_key)
    link = path_of(next(iter((await feed_links(client, made["athlete"]["feed_url"])).values())))
    page = (await client.get(f"{link}/morning")).text
    data = drawn_form(page, pain_knee="4")
    first = await client.post(f"{link}/morning", data=data)
    assert first.status_code == 200 and "What changed" in first.text, first.text
    again = await client.post(f"{link}/morning", data=data)
    assert again.status_code == 200, again.text
    assert "Saved already" in again.text and "nothing was counted twice" in again.text
    assert [kind for kind, _ in await feedback_rows(settings, made["athlete"]["id"])] == ["checkin"]
    # the page drawn again (Back: the browser refills the answers) sends the same pain with a
    # new one-time id: the same report, kept once (a trial stored it twice)
    fresh = FORM_ID.search(again.text).group(1)  # type: ignore[union-attr]
    assert fresh != data["form_id"]
    resent = await client.post(f"{link}/morning", data={**data, "form_id": fresh})
    assert "Saved already" in resent.text, resent.text
    assert len(await feedback_rows(settings, made["athlete"]["id"])) == 1
    # another answer on a new form is a new check-in, and of a report with one new region and
    # one sent already, only the new one is stored
    page = (await client.get(f"{link}/morning")).text
    other = await client.post(f"{link}/morning", data=drawn_form(page, pain_knee="5"))
    assert "What changed" in other.text
    page = (await client.get(f"{link}/morning")).text
    both = await client.post(f"{link}/morning", data=drawn_form(page, pain_knee="5", pain_hip="2"))
    assert "What changed" in both.text
    assert len(await feedback_rows(settings, made["athlete"]["id"])) == 3


async def test_the_coach_session_page_shows_pain_a_second_report_kept_as_a_check_in(
    client, coach_key, after
):
    """Sent "done" from one tab and knee 5 with swelling from another, the pain and its red flag
    were kept, but the coach's session page showed only "done" (a trial)."""
    made, session, page_path = await coach_session_page(client, coach_key, after)
    tab_a, tab_b = (await client.get(page_path)).text, (await client.get(page_path)).text
    done = await client.post(page_path, data=drawn_form(tab_a, completed="yes"))
    assert done.status_code == 200, done.text
    second = await client.post(
        page_path,
        data=drawn_form(
            tab_b, completed="yes", pain_knee="5", timing_knee="during", flags_knee="swelling"
        ),
    )
    assert second.status_code == 200, second.text
    shown = html.unescape((await client.get(page_path)).text)
    assert "pain sent apart from the report</li><li>Knee pain 5/10 during (swelling)" in shown
    assert "flags: swelling" not in shown, "said once, on its region"


async def test_a_session_form_refused_then_corrected_goes_through_and_a_resend_is_told(
    client, coach_key, settings, after
):
    """A refused form takes nothing (its id included), so the corrected one is saved; sent
    again, the coach's page says it was saved already instead of the API's 409 wording."""
    made, session, page_path = await coach_session_page(client, coach_key, after)
    page = (await client.get(page_path)).text
    data = drawn_form(page, completed="yes")
    refused = await client.post(page_path, data={**data, "pain_knee": "lots"})
    assert refused.status_code == 422, refused.text
    saved = await client.post(page_path, data={**data, "rpe": "6"})
    assert saved.status_code == 200 and "What changed" in saved.text, saved.text
    again = await client.post(page_path, data={**data, "rpe": "6"})
    assert again.status_code == 200 and "Saved already" in again.text, again.text
    assert "POST /api" not in again.text and "already has feedback" not in again.text
    kinds = [kind for kind, _ in await feedback_rows(settings, made["athlete"]["id"])]
    assert kinds == ["session"], kinds


async def test_a_form_refused_by_the_service_keeps_no_id_and_is_taken_when_sent_again(
    client, coach_key, settings, after, monkeypatch
):
    """Refused by the service (a 409: the session had not started yet), the form kept its id
    on SQLite (a SAVEPOINT opened as the first write committed at once), so the same form sent
    once the session had started answered "Saved already" and stored nothing (a review)."""
    made, session, page_path = await coach_session_page(client, coach_key, after)
    page = (await client.get(page_path)).text
    data = drawn_form(page, completed="yes", rpe="6")
    before = datetime.fromisoformat(session["start"]) - timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: before.astimezone(UTC))
    early = await client.post(page_path, data=data)
    assert early.status_code == 409, early.text
    after(session)
    sent = await client.post(page_path, data=data)
    assert sent.status_code == 200 and "What changed" in sent.text, sent.text
    kinds = [kind for kind, _ in await feedback_rows(settings, made["athlete"]["id"])]
    assert kinds == ["session"], kinds


async def test_two_sendings_racing_with_one_id_keep_one_report(
    client, coach_key, settings, after, monkeypatch
):
    """Two sendings of one form that both pass the id check (a double tap on two connections):
    the second fails on the id's unique key, its report is rolled back whole, and its page says
    "Saved already" (drawn from a fresh read after the rollback)."""
    from api.web import forms

    made = await planned(client, coach_key)
    link = path_of(next(iter((await feed_links(client, made["athlete"]["feed_url"])).values())))
    page = (await client.get(f"{link}/morning")).text
    data = drawn_form(page, pain_knee="4")
    first = await client.post(f"{link}/morning", data=data)
    assert "What changed" in first.text

    async def passes(*_: Any) -> None:
        return None  # as if the first sending had not committed yet when this one checked

    monkeypatch.setattr(forms, "check_form_id", passes)
    second = await client.post(f"{link}/morning", data=data)
    assert second.status_code == 200 and "Saved already" in second.text, second.text
    assert len(await feedback_rows(settings, made["athlete"]["id"])) == 1
    # the coach's page takes the same path: the racing sending's id is in (committed first),
    # this one's report is rolled back whole
    session = first_strength(made["plan"])
    await sign_in(client, coach_key)
    page_path = f"/app/athletes/{made['athlete']['id']}/sessions/{session['id']}"
    after(session)
    form = (await client.get(page_path)).text
    form_id = FORM_ID.search(form).group(1)  # type: ignore[union-attr]
    await add_form_sent(settings, made["athlete"]["id"], form_id)
    raced = await client.post(
        page_path,
        data=drawn_form(form, completed="yes"),
    )
    assert raced.status_code == 200 and "Saved already" in raced.text, raced.text
    assert "session" not in [k for k, _ in await feedback_rows(settings, made["athlete"]["id"])]


async def add_form_sent(settings: Any, athlete_id: str, form_id: str) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from api.db import FormSentRow

    engine = create_async_engine(settings.database_url)
    try:
        async with async_sessionmaker(engine)() as db, db.begin():
            db.add(FormSentRow(athlete_id=uuid.UUID(athlete_id), form_id=form_id))
    finally:
        await engine.dispose()


async def test_a_form_id_not_drawn_by_the_page_is_no_id_and_never_a_500(
    client, coach_key, settings, after
):
    """A NUL byte in form_id was a 500 on PostgreSQL (a hostile-input trial): an id not of the
    page's own shape is read as none, and the report is taken as a hand-made post's."""
    made, session, page_path = await coach_session_page(client, coach_key, after)
    token = await csrf_of(client, page_path)
    sent = await client.post(
        page_path, data={"completed": "yes", "form_id": "abc\x00def", "_csrf_token": token}
    )
    assert sent.status_code == 200 and "What changed" in sent.text, sent.text
    again = await client.post(
        page_path, data={"completed": "yes", "form_id": "x" * 10_000, "_csrf_token": token}
    )
    # a second report of the session, without a usable id: refused in the page's words
    assert again.status_code == 409, again.text
    assert "report is in already" in again.text and "POST /api" not in again.text


async def test_a_double_tap_that_waited_for_the_first_answers_saved_already(
    client, coach_key, settings, after, monkeypatch
):
    """Ten sendings of one session form at once: one was saved, the nine that waited for it
    answered "Not saved ... already has feedback ... POST /api/..." (a hostile-input trial). A
    sending that finds the report in after passing the id check looks again: saved already."""
    from api.web import forms

    made, session, page_path = await coach_session_page(client, coach_key, after)
    page = (await client.get(page_path)).text
    data = drawn_form(page, completed="yes")
    assert "What changed" in (await client.post(page_path, data=data)).text
    real = forms.check_form_id
    calls = []

    async def first_passes(*args: Any) -> None:
        calls.append(args)
        if len(calls) > 1:  # the look after the 409: the other sending's id is in
            await real(*args)

    monkeypatch.setattr(forms, "check_form_id", first_passes)
    waited = await client.post(page_path, data=data)
    assert waited.status_code == 200 and "Saved already" in waited.text, waited.text
    assert len(calls) == 2
    kinds = [k for k, _ in await feedback_rows(settings, made["athlete"]["id"])]
    assert kinds == ["session"], kinds


async def test_a_day_off_is_a_date_as_typed_and_only_a_day_off_is_taken_back(client, coach_key):
    """'1798761600' was read as a Unix time (1 January 2027) and '2027-01-01T00:00' had its time
    cut off; taking back a day that was no day off said it 'follows the weekly windows again'
    (a hostile-input trial)."""
    made = await planned(client, coach_key)
    await sign_in(client, coach_key)
    page = f"/app/athletes/{made['athlete']['id']}"
    token = await csrf_of(client, page)
    for typed in ("1798761600", "2027-01-01T00:00", "20270101"):
        answer = await client.post(
            f"{page}/days-off", data={"date": typed, "action": "add", "_csrf_token": token}
        )
        assert answer.status_code == 422, (typed, answer.status_code)
        assert "a date, please (YYYY-MM-DD)" in html.unescape(answer.text)
    later = (datetime.now(UTC).date() + timedelta(days=40)).isoformat()
    back = await client.post(
        f"{page}/days-off", data={"date": later, "action": "remove", "_csrf_token": token}
    )
    assert back.status_code == 422 and "is not a day off" in back.text
    athlete = (await client.get(made["base"], headers=auth(coach_key))).json()
    assert athlete["availability"].get("exceptions", []) == []


async def test_the_pain_chart_draws_soreness_apart_from_pain(client, coach_key):
    """Soreness was drawn as pain: a 5/10 morning ache sat in the amber band like amber pain,
    though it moves no level (domain.md, Revision 2). It is now hollow and dashed, named in
    its point's title and in the caption."""
    made = await planned(client, coach_key)
    for body in (
        {"region": "hamstring", "score": 5, "timing": "next_morning", "kind": "soreness"},
        {"region": "knee", "score": 4, "timing": "next_morning"},
    ):
        sent = await client.post(f"{made['base']}/pain", json=body, headers=auth(coach_key))
        assert sent.status_code == 201, sent.text
    await sign_in(client, coach_key)
    page = (await client.get(f"/app/athletes/{made['athlete']['id']}")).text
    sore = re.search(r'<circle [^>]*fill="#fff"[^>]*class="soreness"><title>([^<]+)<', page)
    pain = re.search(r'<circle [^>]*fill="#[0-9a-f]{6}" class="pain"><title>([^<]+)<', page)
    assert sore and sore.group(1).startswith("Hamstring soreness 5/10"), page
    assert pain and pain.group(1).startswith("Knee pain 4/10"), page
    assert page.count('stroke-dasharray="5 4"') == 1
    assert "Soreness (hollow points, dashed)" in page


async def test_the_pain_chart_marks_a_warning_sign_instead_of_a_zero(client, coach_key):
    """A morning check-in with swelling ticked and no score was drawn as 'Knee pain 0/10': the
    line fell from 7 to 0 as if the knee had recovered (a new user's trial)."""
    made = await planned(client, coach_key)
    for body in (
        {"region": "knee", "score": 7, "timing": "after"},
        {"region": "knee", "score": 0, "timing": "next_morning", "flags": ["swelling"]},
    ):
        sent = await client.post(f"{made['base']}/pain", json=body, headers=auth(coach_key))
        assert sent.status_code == 201, sent.text
    await sign_in(client, coach_key)
    page = (await client.get(f"/app/athletes/{made['athlete']['id']}")).text
    assert "Knee pain 0/10" not in page
    assert re.search(r"Knee pain 7/10 on ", page), page
    flag = re.search(r'<path [^>]*class="flag"><title>([^<]+)<', page)
    assert flag and flag.group(1).startswith("Knee: warning sign (swelling) on "), page


async def test_a_refused_form_is_told_at_the_top_of_the_page_with_a_link_to_it(client, coach_key):
    """A refused re-plan's words sat next to its form, about 2,000 px below where the answer
    opens (a new user's trial read a reload that did nothing): the top says it too."""
    made = await planned(client, coach_key)
    await sign_in(client, coach_key)
    page = f"/app/athletes/{made['athlete']['id']}"
    token = await csrf_of(client, page)
    answer = await client.post(
        f"{page}/plan", data={"start": "2025-01-06", "weeks": "4", "_csrf_token": token}
    )
    assert answer.status_code == 422
    text = answer.text
    top = text.index("Not saved (Re-plan).")
    assert top < text.index('id="cal-h"'), "above the calendar, before anything else"
    assert "before today" in text[top : top + 400]
    assert 'href="#form-plan"' in text and 'id="form-plan"' in text


async def test_a_refused_form_value_is_told_in_plain_words_with_what_was_typed(client, coach_key):
    """The re-plan form refused 'twelve' weeks with pydantic's 'Input should be a valid
    integer, unable to parse string as an integer' (a new user's trial)."""
    made = await planned(client, coach_key)
    await sign_in(client, coach_key)
    page = f"/app/athletes/{made['athlete']['id']}"
    token = await csrf_of(client, page)
    said = {}
    for weeks in ("twelve", "99"):
        answer = await client.post(f"{page}/plan", data={"weeks": weeks, "_csrf_token": token})
        assert answer.status_code == 422, answer.text
        assert "Input should" not in answer.text, answer.text
        said[weeks] = html.unescape(answer.text)
    assert "weeks: a whole number, please (not “twelve”)" in said["twelve"]
    assert "weeks: at most 52 (not “99”)" in said["99"]
    bad_date = await client.post(
        f"{page}/plan", data={"start": "next week", "weeks": "4", "_csrf_token": token}
    )
    assert bad_date.status_code == 422
    assert "start: a date, please (YYYY-MM-DD) (not “next week”)" in html.unescape(bad_date.text)


async def test_the_coach_signs_off_the_first_barbell_rdl_from_the_athlete_page(
    client, coach_key, monkeypatch
):
    # hinge 8 is the kickstand RDL: two green sessions earn the barbell RDL, which then waits
    made = await planned(client, coach_key, weeks=3, starting_levels={"hinge": 8})
    headers = auth(coach_key)
    kickstand = [
        s
        for s in made["plan"]["sessions"]
        if any(p["exercise_id"] == "kickstand_rdl_light" for p in s["prescriptions"])
    ][:2]
    assert len(kickstand) == 2
    for session in kickstand:
        moment = datetime.fromisoformat(session["end"]) + timedelta(minutes=5)
        monkeypatch.setattr(clock, "now", lambda moment=moment: moment.astimezone(UTC))
        logged = await client.post(
            f"{made['base']}/sessions/{session['id']}/feedback",
            json={
                "completed": True,
                "rpe": 6,
                "exercises": [{"exercise_id": "kickstand_rdl_light", "sets": 3, "reps": 10}],
            },
            headers=headers,
        )
        assert logged.status_code == 201, logged.text
    await sign_in(client, coach_key)
    page = f"/app/athletes/{made['athlete']['id']}"
    before = await client.get(page)
    assert "Earned and waiting for your sign-off: Romanian deadlift" in before.text
    assert '<option value="romanian_deadlift" selected>' in before.text
    # the roster says so too (a trial saw it on the athlete's page only)
    assert "sign-off waiting: Romanian deadlift" in (await client.get("/app/")).text
    token = await csrf_of(client, page)
    # no note: the API's 422, shown next to the form, and nothing signed off
    refused = await client.post(
        f"{page}/approvals",
        data={"exercise_id": "romanian_deadlift", "note": "", "_csrf_token": token},
    )
    assert refused.status_code == 422 and "Not saved" in refused.text and "note" in refused.text
    progression = (await client.get(f"{made['base']}/progression", headers=headers)).json()
    assert progression["approvals"] == [] and progression["awaiting_approval"] == [
        "romanian_deadlift"
    ]
    signed = await client.post(
        f"{page}/approvals",
        data={
            "exercise_id": "romanian_deadlift",
            "note": "hinge checked on video",
            "_csrf_token": token,
        },
    )
    assert signed.status_code == 200, signed.text
    assert "Romanian deadlift signed off" in signed.text
    assert "hinge: level 8 to 9" in signed.text
    assert "Romanian deadlift signed off on" in signed.text  # listed under the ladders
    assert '<option value="romanian_deadlift"' not in signed.text  # signed once only
    assert "sign-off waiting" not in (await client.get("/app/")).text
    progression = (await client.get(f"{made['base']}/progression", headers=headers)).json()
    assert [a["exercise_id"] for a in progression["approvals"]] == ["romanian_deadlift"]
    assert progression["approvals"][0]["note"] == "hinge checked on video"
    hinge = next(p for p in progression["patterns"] if p["pattern"] == "hinge")
    assert hinge["level"] == 9
    plan = (await client.get(f"{made['base']}/plan", headers=headers)).json()
    assert any(
        p["exercise_id"] == "romanian_deadlift"
        for s in plan["sessions"]
        for p in s["prescriptions"]
    )
    # the deadlift may be signed off ahead of its gate: it stands until earned; a second
    # sign-off is the API's 409, shown in place
    ahead = await client.post(
        f"{page}/approvals",
        data={"exercise_id": "deadlift", "note": "ready when the gate opens", "_csrf_token": token},
    )
    assert ahead.status_code == 200 and "once the athlete earns the Deadlift" in ahead.text
    again = await client.post(
        f"{page}/approvals",
        data={"exercise_id": "deadlift", "note": "twice", "_csrf_token": token},
    )
    assert again.status_code == 409 and "already signed off" in again.text


async def test_no_barbell_sign_off_is_offered_for_an_athlete_without_a_barbell(client, coach_key):
    """The barbell hinges are never prescribed without a barbell: the page offered to sign them
    off all the same. With a barbell it offers both."""
    await sign_in(client, coach_key)
    bare = await planned(client, coach_key, equipment=["bodyweight", "band", "dumbbell"])
    page = await client.get(f"/app/athletes/{bare['athlete']['id']}")
    assert page.status_code == 200
    assert "Sign off a barbell hinge" not in page.text
    assert '<option value="romanian_deadlift"' not in page.text
    barbell = await planned(client, coach_key, equipment=["bodyweight", "dumbbell", "barbell"])
    page = await client.get(f"/app/athletes/{barbell['athlete']['id']}")
    assert '<option value="romanian_deadlift"' in page.text
    assert '<option value="deadlift"' in page.text


async def test_the_re_plan_form_keeps_the_current_plans_start_and_length(client, coach_key):
    """Prefilled with today, a re-plan moved where the plan's weeks begin (a Saturday race then
    opened a Saturday-to-Friday week and its sessions read 'race week' after the race) and
    stretched its end. The form now holds the plan's own start and weeks while it lasts."""
    made = await planned(client, coach_key, weeks=3)
    await sign_in(client, coach_key)
    page = (await client.get(f"/app/athletes/{made['athlete']['id']}")).text
    start = re.search(r'id="plan-start" name="start" type="date" value="([^"]+)"', page)
    weeks = re.search(r'id="plan-weeks" name="weeks" [^>]*value="(\d+)"', page)
    assert start and weeks, page
    assert start.group(1) == made["plan"]["start"] != date.today().isoformat()
    assert int(weeks.group(1)) == made["plan"]["weeks"] == 3


async def test_the_week_table_writes_a_one_number_target_once(client, coach_key):
    """A peak week wants 1 strength session: the table read '1 of 1-1'."""
    made = await planned(client, coach_key, weeks=3)
    race_day = date.fromisoformat(made["plan"]["start"]) + timedelta(weeks=5, days=6)
    race = await client.post(
        f"{made['base']}/rides",
        json={
            "start": support.at(race_day, 9).isoformat(),
            "duration_min": 240,
            "kind": "race",
            "priority": "A",
        },
        headers=auth(coach_key),
    )
    assert race.status_code == 201, race.text
    replanned = await client.post(
        f"{made['base']}/plan",
        json={"start": made["plan"]["start"], "weeks": 3},
        headers=auth(coach_key),
    )
    assert replanned.status_code == 201, replanned.text
    assert "peak" in {w["phase"] for w in replanned.json()["weeks_report"]}
    await sign_in(client, coach_key)
    page = (await client.get(f"/app/athletes/{made['athlete']['id']}")).text
    targets = re.findall(r"<td[^>]*>(\d+) of (\d+)(?:-(\d+))?", page)
    assert targets, page
    assert all(high != low for _, low, high in targets if high), targets
    assert any(not high for _, _, high in targets), targets


async def test_a_day_off_from_the_athlete_page_empties_that_day_and_warns_the_plan(
    client, coach_key
):
    """The import told the coach to PATCH availability.exceptions for an all-day event, and the
    page had no way to (a new user's trial). A day off added on the page empties that day's
    windows (the API shows the exception), the plan warns of its sessions there, and taking
    the day back restores the weekly windows."""
    made = await planned(client, coach_key, weeks=2)
    session = first_strength(made["plan"])
    day = datetime.fromisoformat(session["start"]).date()
    await sign_in(client, coach_key)
    page = f"/app/athletes/{made['athlete']['id']}"
    token = await csrf_of(client, page)
    added = await client.post(
        f"{page}/days-off",
        data={"date": day.isoformat(), "action": "add", "_csrf_token": token},
    )
    assert added.status_code == 200, added.text
    assert "is a day off" in added.text and "Re-plan" in added.text
    # its session stays until the re-plan, and the page says so ("no session goes there" read
    # false beside the session still on that day)
    clock_time = datetime.fromisoformat(session["start"]).astimezone(ZoneInfo(support.BERLIN))
    assert f"Its strength at {clock_time:%H:%M} stays in the calendar until you re-plan" in (
        added.text
    ), added.text
    assert "no session goes there" not in added.text
    assert "break the hard rules" in added.text, "its session there breaks H1 now"
    athlete = (await client.get(made["base"], headers=auth(coach_key))).json()
    assert {"date": day.isoformat(), "windows": []} in athlete["availability"]["exceptions"]
    plan = (await client.get(f"{made['base']}/plan", headers=auth(coach_key))).json()
    assert any("break the hard rules" in w for w in plan["warnings"])
    assert f'name="date" value="{day.isoformat()}"' in added.text, "listed with a take-back"
    # the re-plan says where the session went (it said '61 sessions, version 8')
    replanned = await client.post(
        f"{page}/plan",
        data={"start": made["plan"]["start"], "weeks": "2", "_csrf_token": token},
    )
    assert replanned.status_code == 200, replanned.text
    gone = datetime.fromisoformat(session["start"])
    assert f"strength of {gone:%a} {gone.day} {gone:%b} {gone:%H:%M}" in replanned.text, (
        replanned.text
    )
    assert "version" not in replanned.text.split("Re-planned", 1)[1][:300]

    back = await client.post(
        f"{page}/days-off",
        data={"date": day.isoformat(), "action": "remove", "_csrf_token": token},
    )
    assert back.status_code == 200, back.text
    athlete = (await client.get(made["base"], headers=auth(coach_key))).json()
    assert athlete["availability"]["exceptions"] == []
    plan = (await client.get(f"{made['base']}/plan", headers=auth(coach_key))).json()
    assert not any("break the hard rules" in w for w in plan["warnings"])

    refused = await client.post(
        f"{page}/days-off", data={"date": "31.12.", "action": "add", "_csrf_token": token}
    )
    assert refused.status_code == 422 and "Not saved" in refused.text
    past = await client.post(
        f"{page}/days-off", data={"date": "2020-01-06", "action": "add", "_csrf_token": token}
    )
    assert past.status_code == 422 and "is past" in past.text
    athlete = (await client.get(made["base"], headers=auth(coach_key))).json()
    assert athlete["availability"]["exceptions"] == []


async def test_an_import_on_the_page_names_the_day_off_and_no_api_call(client, coach_key):
    """The import's answer on the dashboard said "(or in the API, PATCH availability.exceptions
    ... {"date": ..., "windows": []})" and never the day (a trial)."""
    made = await planned(client, coach_key)
    await sign_in(client, coach_key)
    page = f"/app/athletes/{made['athlete']['id']}"
    token = await csrf_of(client, page)
    day = next_monday() + timedelta(days=9)
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:off-1\r\nDTSTART;VALUE=DATE:{day:%Y%m%d}\r\nSUMMARY:Rest day\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    imported = await client.post(
        f"{page}/rides",
        data={"_csrf_token": token},
        files={"calendar": ("rides.ics", ics.encode(), "text/calendar")},
    )
    assert imported.status_code == 200, imported.text
    text = html.unescape(imported.text)
    assert f"all-day event on {day:%a} {day.day} {day:%b} {day.year}" in text, text
    assert "Days off" in text
    assert "PATCH" not in text and "or in the API" not in text, text


async def test_ride_import_and_rotation_from_the_athlete_page(client, coach_key):
    made = await planned(client, coach_key)
    await sign_in(client, coach_key)
    page = f"/app/athletes/{made['athlete']['id']}"
    token = await csrf_of(client, page)
    start = datetime.combine(next_monday() + timedelta(days=16), datetime.min.time())
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:web-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start:%Y%m%d}T170000Z\r\n"
        f"DTEND:{start:%Y%m%d}T183000Z\r\nSUMMARY:Hill repeats\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    imported = await client.post(
        f"{page}/rides",
        data={"_csrf_token": token},
        files={"calendar": ("rides.ics", ics.encode(), "text/calendar")},
    )
    assert imported.status_code == 200, imported.text
    assert "1 created" in imported.text
    broken = await client.post(
        f"{page}/rides",
        data={"_csrf_token": token},
        files={"calendar": ("rides.ics", b"not a calendar", "text/calendar")},
    )
    assert broken.status_code == 400 and "Not saved" in broken.text
    shown = (await client.get(page)).text
    link_of = re.search(r'name="link_of" value="([^"]+)"', shown)
    assert link_of, "the renewal form names the link it renews"
    form = {"_csrf_token": token, "link_of": link_of.group(1)}
    # without the box ticked nothing is renewed (the page's box is checked on the server too)
    unticked = await client.post(f"{page}/feed-token", data=form)
    assert unticked.status_code == 422 and "tick" in unticked.text, unticked.text
    assert (await client.get(feed_path(made["athlete"]["feed_url"]))).status_code == 200
    form["confirm"] = "yes"
    rotated = await client.post(f"{page}/feed-token", data=form)
    assert rotated.status_code == 200
    link = re.search(r'value="(http[^"]+/feeds/[^"]+\.ics)"', rotated.text)
    assert link
    assert (await client.get(feed_path(made["athlete"]["feed_url"]))).status_code == 404
    assert (await client.get(feed_path(link.group(1)))).status_code == 200
    # the same form sent again (a reload of the answer) renews nothing: the link just handed
    # out keeps working (a new user's trial saw a reload end it)
    again = await client.post(f"{page}/feed-token", data=form)
    assert again.status_code == 409 and "renewed already" in again.text
    assert (await client.get(feed_path(link.group(1)))).status_code == 200


async def test_roster_puts_clearance_waiting_first(client, coach_key, after):
    calm = await planned(client, coach_key)
    flagged = await planned(client, coach_key)
    session = first_strength(flagged["plan"])
    after(session)
    answer = await client.post(
        f"{flagged['base']}/sessions/{session['id']}/feedback",
        json={"completed": True, "pain": [{"region": "knee", "score": 8, "timing": "after"}]},
        headers=auth(coach_key),
    )
    assert answer.status_code == 201, answer.text
    await sign_in(client, coach_key)
    roster = (await client.get("/app/")).text
    assert roster.index(flagged["athlete"]["id"]) < roster.index(calm["athlete"]["id"])
    assert "clearance waiting: knee" in roster
    page = await client.get(f"/app/athletes/{flagged['athlete']['id']}")
    assert "Clearance waiting" in page.text and "<svg" in page.text


async def test_the_athlete_page_tells_a_missed_target_once_a_week(client, coach_key):
    """A missed T1 was listed twice a week: as a missed target and as the paid term that
    explains it (with the time tried and a fix). The paid term alone stays."""
    weeks = 2
    made = await planned(
        client, coach_key, weeks, availability={"monday": [{"start": "06:00", "end": "07:00"}]}
    )
    missed = [
        report
        for report in made["plan"]["weeks_report"]
        if any(t["rule"] == "T1" and not t["met"] for t in report["targets"])
    ]
    assert len(missed) == weeks, "one window a week: T1 (2-3) is missed every week"
    await sign_in(client, coach_key)
    page = (await client.get(f"/app/athletes/{made['athlete']['id']}")).text
    assert page.count("<strong>T1</strong>") == weeks, page


async def test_roster_shows_red_only_while_its_7_days_last(client, coach_key):
    """The stored zone stays red until a green session: an athlete whose red ended weeks ago
    was listed 'red' at the top of the roster, while the plan's warnings said nothing."""
    old = await planned(client, coach_key)
    fresh = await planned(client, coach_key)
    now = clock.now()
    for made, at in ((old, now - timedelta(days=20)), (fresh, now - timedelta(hours=2))):
        answer = await client.post(
            f"{made['base']}/pain",
            json={"region": "hamstring", "score": 6, "timing": "after", "at": at.isoformat()},
            headers=auth(coach_key),
        )
        assert answer.status_code == 201, answer.text
    await sign_in(client, coach_key)
    roster = (await client.get("/app/")).text

    def line(made: dict[str, Any]) -> str:
        start = roster.index(made["athlete"]["id"])
        end = roster.find("</li>", start)
        assert end > start
        return roster[start:end]

    assert "red: hamstring" in line(fresh)
    assert "red:" not in line(old)
    assert roster.index(fresh["athlete"]["id"]) < roster.index(old["athlete"]["id"])


# --- check-in links -----------------------------------------------------------------------------


async def test_checkin_link_from_the_feed_records_feedback_for_its_own_athlete_only(
    client, coach_key, other_key, after
):
    mine = await planned(client, coach_key)
    theirs = await planned(client, other_key)
    session = first_strength(mine["plan"])
    links = await feed_links(client, mine["athlete"]["feed_url"])
    link = path_of(links[session["uid"]])
    early = await client.get(link)
    assert early.status_code == 200 and "once the session has started" in early.text
    after(session)
    page = await client.get(link)
    assert page.status_code == 200 and 'name="completed"' in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    sent = await client.post(
        link,
        data={
            "completed": "yes",
            "pain_knee": "3",
            "flags_knee": "swelling",
            "timing_knee": "after",
            "_csrf_token": token,
        },
    )
    assert sent.status_code == 200, sent.text
    assert "see a clinician" in sent.text.lower()
    mine_now = await client.get(f"{mine['base']}/progression", headers=auth(coach_key))
    theirs_now = await client.get(f"{theirs['base']}/progression", headers=auth(other_key))
    assert mine_now.json()["needs_clearance"] is True
    assert theirs_now.json()["needs_clearance"] is False
    # the same session again: the API's 409 is not a second record
    again = await client.post(link, data={"completed": "yes", "_csrf_token": token})
    assert again.status_code in (200, 409)
    assert "Thanks, this session is logged" in again.text or "already has feedback" in again.text


async def test_a_checkin_takes_a_decimal_comma_and_a_bad_load_never_costs_the_pain(
    client, coach_key, after
):
    """An athlete types "20,5" kg (a decimal comma) or "heavy" in a load box: the first is
    20.5 kg, the second is left out with the answer saying so; the knee pain counts either way."""
    made, link, page, token = await checkin_page(
        client, coach_key, after, starting_levels={"squat": 3}
    )
    ids = re.findall(r'name="ex_(\d+)_id" value="([a-z_]+)"', page.text)
    library = load_library()
    # a loaded exercise first (its load is remembered), then any other
    ids.sort(key=lambda found: library.by_id[found[1]].implement is None)
    assert len(ids) >= 2 and library.by_id[ids[0][1]].implement is not None, ids
    data = {"completed": "yes", "pain_knee": "6", "timing_knee": "after", "_csrf_token": token}
    data |= {f"ex_{index}_id": exercise_id for index, exercise_id in ids}  # the hidden fields
    (first, first_id), (second, _) = ids[0], ids[1]
    data |= {f"ex_{first}_sets": "3", f"ex_{first}_reps": "8", f"ex_{first}_load": "20,5"}
    data |= {f"ex_{second}_sets": "3", f"ex_{second}_load": "heavy"}
    sent = await client.post(link, data=data)
    assert sent.status_code == 200, sent.text
    progression = (await client.get(f"{made['base']}/progression", headers=auth(coach_key))).json()
    assert progression["regions"]["knee"]["zone"] == "red", progression["regions"]
    assert progression["loads"].get(first_id) == 20.5, progression["loads"]


@pytest.mark.parametrize("load", ["12,5", "0"])
async def test_a_logged_load_is_the_reason_its_lift_changes_and_zero_is_no_load(
    client, coach_key, after, load
):
    """A lift logged at 12.5 kg beside knee pain 4/10: the athlete read "at 12.5 kg ...,
    because you reported knee pain 4/10 during"; and a load of 0 became the next sessions'
    "at 0 kg" (a trial). The load's line gives the load logged; 0 kg changes no load."""
    made, link, page, token = await checkin_page(
        client, coach_key, after, starting_levels={"squat": 3}
    )
    ids = re.findall(r'name="ex_(\d+)_id" value="([a-z_]+)"', page.text)
    library = load_library()
    loaded = [(i, e) for i, e in ids if library.by_id[e].implement is not None]
    assert loaded, ids
    index, exercise_id = loaded[0]
    data = {"completed": "yes", "pain_knee": "4", "timing_knee": "during", "_csrf_token": token}
    data |= {f"ex_{i}_id": e for i, e in ids}
    data |= {f"ex_{index}_sets": "3", f"ex_{index}_reps": "8", f"ex_{index}_load": load}
    sent = await client.post(link, data=data)
    assert sent.status_code == 200, sent.text
    name = library.by_id[exercise_id].name
    changed = re.findall(r'<ul class="changes">(.*?)</ul>', sent.text, re.S)
    lines = [
        line
        for line in re.findall(r"<li>(.*?)</li>", changed[0] if changed else "", re.S)
        if name in line and " kg" in line
    ]
    plan = (await client.get(f"{made['base']}/plan", headers=auth(coach_key))).json()
    if load == "0":
        assert not any(
            "0 kg" in p["load_hint"].split(",")[0] and p["exercise_id"] == exercise_id
            for s in plan["sessions"]
            for p in s["prescriptions"]
        ), plan
        return
    assert lines, sent.text
    assert all("because you logged 12.5 kg" in line for line in lines), lines
    assert not any("because you reported knee" in line for line in lines), lines


async def test_an_exercise_left_out_is_told_to_the_athlete_without_validator_words(
    client, coach_key, after
):
    """A load of 999 showed the athlete "load_kg: Input should be less than or equal to 500"
    (a trial): the page names the exercise and what the box takes; the pain counts."""
    made, link, page, token = await checkin_page(client, coach_key, after)
    ids = re.findall(r'name="ex_(\d+)_id" value="([a-z_]+)"', page.text)
    index, exercise_id = ids[0]
    data = {"completed": "yes", "pain_knee": "6", "timing_knee": "after", "_csrf_token": token}
    data |= {f"ex_{i}_id": e for i, e in ids}
    data |= {f"ex_{index}_sets": "3", f"ex_{index}_reps": "8", f"ex_{index}_load": "999"}
    sent = await client.post(link, data=data)
    assert sent.status_code == 200, sent.text
    name = load_library().by_id[exercise_id].name
    assert "Input should be" not in sent.text and "load_kg" not in sent.text, sent.text
    assert f"{name}: the load should be a number of kg up to 500, so it was not counted" in (
        html.unescape(sent.text)
    ), sent.text
    progression = (await client.get(f"{made['base']}/progression", headers=auth(coach_key))).json()
    assert progression["regions"]["knee"]["zone"] == "red"


async def test_a_red_flag_waiting_is_not_told_as_a_new_warning_sign_on_later_check_ins(
    client, coach_key
):
    """While a knee's red flag waited for clearance, every later check-in (hamstring soreness
    alone) showed "Please see a clinician: you reported a warning sign (knee)" (a trial)."""
    made = await planned(client, coach_key)
    link = path_of(next(iter((await feed_links(client, made["athlete"]["feed_url"])).values())))
    page = (await client.get(f"{link}/morning")).text
    flagged = await client.post(
        f"{link}/morning", data=drawn_form(page, pain_knee="3", flags_knee="swelling")
    )
    assert "Please see a clinician" in flagged.text, flagged.text
    assert "warning sign (knee)" in flagged.text
    page = (await client.get(f"{link}/morning")).text
    later = await client.post(
        f"{link}/morning", data=drawn_form(page, pain_hamstring="2", kind_hamstring="soreness")
    )
    assert later.status_code == 200, later.text
    text = html.unescape(later.text)
    assert "Please see a clinician" not in text and "You reported a warning sign" not in text
    assert "Your knee still waits for your coach's clearance" in text, text
    # a new warning sign on the waiting knee is told as one (a review: knee 8/10 with numbness
    # got only the "still waits" line)
    page = (await client.get(f"{link}/morning")).text
    worse = await client.post(
        f"{link}/morning", data=drawn_form(page, pain_knee="8", flags_knee="numbness")
    )
    assert "Please see a clinician" in worse.text and "warning sign (knee)" in worse.text


async def test_the_checkin_page_tells_the_athlete_in_their_own_words(client, coach_key, after):
    """A red-flagged hamstring and a red knee: the athlete reads the clinician block, the
    knee's lighter days with their end, and why the sessions changed, never the coach's
    'refer the athlete' (a new user's trial saw it on every line, and the knee not at all)."""
    made, link, page, token = await checkin_page(
        client, coach_key, after, starting_levels={"squat": 3}
    )
    assert "Any warning signs (somewhere else)?" in page.text
    data = {
        "completed": "yes",
        "pain_knee": "6",
        "timing_knee": "after",
        "pain_hamstring": "5",
        "flags_hamstring": "sharp",
        "_csrf_token": token,
    }
    sent = await client.post(link, data=data)
    assert sent.status_code == 200, sent.text
    text = sent.text
    assert "Please see a clinician" in text
    assert "Refer the athlete" not in text and "the athlete" not in text.lower()
    assert re.search(r"Your knee: no heavy work for it through \w+day \d+ \w+", text), text
    # knee flexion sits on its easiest rung: the knee's red halves it instead of a step down
    assert re.search(
        r"Your knee: no heavy work for it through \w+day \d+ \w+, and its easiest exercises at "
        r"half their sets\.",
        text,
    ), text
    # what changed, session by session: a strength and a mobility session of one day were
    # two alike 'dose or advice adjusted' lines, and the reason carried the coach's rung words
    changed = re.findall(r'<ul class="changes">(.*?)</ul>', text, re.S)
    lines = re.findall(r"<li>(.*?)</li>", changed[0], re.S) if changed else []
    assert lines and len(set(lines)) == len(lines), lines
    heads = [line.split(":")[0] for line in lines]
    assert len(set(heads)) == len(heads), heads
    assert all(re.match(r"\w+day \d+ \w+, (strength|mobility): ", line) for line in lines), lines
    assert not any("easiest rung" in line for line in lines), lines
    assert "dose or advice adjusted" not in text


async def test_the_checkin_page_says_what_amber_pain_and_soreness_hold_in_plain_words(
    client, coach_key, after
):
    """Knee 5/10 held the knee's exercises and the page said only the coach's 'held because
    knee amber (the step needs green); the count starts again', or nothing about the knee (a
    new user's trial). The athlete reads that the pain is noted and what it holds; soreness
    is told apart; the coach's held lines stay on the coach's pages."""
    made, link, page, token = await checkin_page(client, coach_key, after)
    sent = await client.post(
        link,
        data={
            "completed": "yes",
            "pain_knee": "5",
            "timing_knee": "after",
            "pain_hamstring": "3",
            "timing_hamstring": "after",
            "kind_hamstring": "soreness",
            "_csrf_token": token,
        },
    )
    assert sent.status_code == 200, sent.text
    text = sent.text
    assert "Your knee (5/10) is noted: its exercises stay where they are" in text, text
    assert "Your hamstring soreness (3/10) is noted: soreness changes nothing" in text, text
    assert "the step needs green" not in text and "count starts again" not in text


async def test_sending_the_checkin_form_as_it_comes_logs_no_reps_and_steps_nothing_up(
    client, coach_key, after
):
    """The form came with every rep box at the top of its range, so an athlete who only tapped
    Send logged a top-of-range session, and two of them stepped the ladder up. The reps now
    come empty (the range is the placeholder): the sets and loads still log, no level moves."""
    made = await planned(client, coach_key)
    sessions = [s for s in made["plan"]["sessions"] if s["kind"] == "strength"][:2]
    links = await feed_links(client, made["athlete"]["feed_url"])
    for session in sessions:
        link = path_of(links[session["uid"]])
        after(session)
        page = (await client.get(link)).text
        reps = re.findall(r'name="ex_\d+_reps" placeholder="([^"]*)" value="([^"]*)"', page)
        assert reps and all(hint and value == "" for hint, value in reps), reps
        # what a browser sends for the form as it comes: each input's value, Done ticked
        data = dict(
            re.findall(
                r'<input type="(?:hidden|number)"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page
            )
        )
        data |= {"completed": "yes", "_csrf_token": CSRF.search(page).group(1)}  # type: ignore[union-attr]
        sent = await client.post(link, data=data)
        assert sent.status_code == 200, sent.text
    progression = (await client.get(f"{made['base']}/progression", headers=auth(coach_key))).json()
    assert all(p["history"] == [] for p in progression["patterns"]), progression["patterns"]


async def test_pain_elsewhere_is_told_as_logged_not_as_lighter_sessions(client, coach_key, after):
    """No exercise is known to load pain 'elsewhere', so a red score there changes no session:
    the page says it is logged for the coach (it said the sessions would be lighter)."""
    made, link, page, token = await checkin_page(client, coach_key, after)
    data = {"completed": "yes", "pain_other": "6", "timing_other": "after", "_csrf_token": token}
    sent = await client.post(link, data=data)
    assert sent.status_code == 200, sent.text
    assert "Your pain elsewhere is logged: your coach will see it." in sent.text
    assert "no heavy work for it" not in sent.text


async def test_a_checkin_link_cannot_be_bent_to_another_athletes_session(
    client, settings, coach_key, other_key
):
    mine = await planned(client, coach_key)
    theirs = await planned(client, other_key)
    my_link = path_of(next(iter((await feed_links(client, mine["athlete"]["feed_url"])).values())))
    their_uid = first_strength(theirs["plan"])["uid"]
    # my signature on their session's UID, and a link signed under a guessed feed token hash
    my_sig = my_link.rsplit(".", 1)[1]
    bent = checkin_token(settings.secret_key, "0" * 64, their_uid).rsplit(".", 1)[0] + "." + my_sig
    forged = checkin_token(settings.secret_key, "0" * 64, their_uid)
    for path in (f"/checkin/{bent}", f"/checkin/{forged}", "/checkin/nonsense", "/checkin/a.b"):
        for answer in (
            await client.get(path),
            await client.get(f"{path}/morning"),
            await client.post(path, data={"completed": "yes"}),
        ):
            assert answer.status_code in (403, 404), path  # 403: no CSRF cookie for a POST
        page = await client.get(path)
        assert page.status_code == 404 and "does not work" in page.text
    # with the signed form token, a forged post is still a 404 and writes nothing
    token = await csrf_of(client, f"{my_link}/morning")
    answer = await client.post(
        f"/checkin/{forged}", data={"completed": "yes", "_csrf_token": token}
    )
    assert answer.status_code == 404
    progression = await client.get(f"{theirs['base']}/progression", headers=auth(other_key))
    assert all(not p["history"] for p in progression.json()["patterns"])


async def test_links_made_before_they_named_the_athlete_still_work_and_a_named_athlete_must_own_the_session(
    client, settings, coach_key, other_key
):
    """Check-in links now carry their athlete (a link whose session a re-plan removed still
    leads to the morning check-in). Links already in calendars name only the session: they
    keep working. A link signed for me that names another athlete's session is a 404, and so
    is one naming the other athlete under my signature."""
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from api.db import AthleteRow

    mine = await planned(client, coach_key)
    theirs = await planned(client, other_key)
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(AthleteRow.id, AthleteRow.feed_token_hash))).all()
    finally:
        await engine.dispose()
    hashes = {str(row.id): row.feed_token_hash for row in rows}
    me, them = mine["athlete"]["id"], theirs["athlete"]["id"]
    my_uid = first_strength(mine["plan"])["uid"]
    their_uid = first_strength(theirs["plan"])["uid"]
    old_style = checkin_token(settings.secret_key, hashes[me], my_uid)
    page = await client.get(f"/checkin/{old_style}")
    assert page.status_code == 200 and "does not work" not in page.text
    assert (await client.get(f"/checkin/{old_style}/morning")).status_code == 200
    for token in (
        checkin_token(settings.secret_key, hashes[me], their_uid, uuid.UUID(me)),
        checkin_token(settings.secret_key, hashes[me], their_uid, uuid.UUID(them)),
        checkin_token(settings.secret_key, hashes[me], my_uid, uuid.UUID(them)),
    ):
        for path in (f"/checkin/{token}", f"/checkin/{token}/morning"):
            answer = await client.get(path)
            assert answer.status_code == 404 and "does not work" in answer.text, path


async def test_rotating_the_feed_token_turns_every_earlier_checkin_link_into_a_404(
    client, coach_key
):
    made = await planned(client, coach_key)
    old = await feed_links(client, made["athlete"]["feed_url"])
    rotated = await client.post(f"{made['base']}/feed-token", headers=auth(coach_key))
    new = await feed_links(client, rotated.json()["feed_url"])
    assert old.keys() == new.keys()
    for uid in list(old)[:3]:
        assert (await client.get(path_of(old[uid]))).status_code == 404
        assert (await client.get(path_of(old[uid]) + "/morning")).status_code == 404
        assert (await client.get(path_of(new[uid]))).status_code == 200


async def test_morning_checkin_records_a_pain_score_for_the_day(client, coach_key):
    made = await planned(client, coach_key)
    link = path_of(next(iter((await feed_links(client, made["athlete"]["feed_url"])).values())))
    page = await client.get(f"{link}/morning")
    assert page.status_code == 200
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    empty = await client.post(f"{link}/morning", data={"_csrf_token": token})
    assert empty.status_code == 422 and "at least one" in empty.text
    sent = await client.post(
        f"{link}/morning",
        data={"pain_low_back": "2", "kind_low_back": "pain", "_csrf_token": token},
    )
    assert sent.status_code == 200, sent.text
    assert "What changed" in sent.text
    progression = await client.get(f"{made['base']}/progression", headers=auth(coach_key))
    assert "low_back" in progression.json()["regions"]


async def test_a_link_whose_session_a_re_plan_removed_still_takes_pain(client, coach_key):
    """A hostile trial: availability changed, a re-plan removed sessions, and their links (in
    calendars that had not refreshed) answered 404 on the session and the morning check-in:
    a knee 8/10 with swelling was refused. The link names its athlete: the morning form
    works, with a word on why the session is not there, and the session's form keeps its pain."""
    made = await planned(client, coach_key)
    links = await feed_links(client, made["athlete"]["feed_url"])
    base, headers = made["base"], auth(coach_key)
    weekdays = ("tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    patched = await client.patch(
        base, json={"availability": {day: None for day in weekdays}}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    replanned = await client.post(f"{base}/plan", json={}, headers=headers)
    assert replanned.status_code == 201, replanned.text
    kept = {s["uid"] for s in replanned.json()["sessions"]}
    gone = [path_of(link) for uid, link in links.items() if uid not in kept]
    assert gone, "the re-plan removed sessions"
    page = await client.get(gone[0])
    assert page.status_code == 200, page.text
    assert "no longer in your plan" in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    sent = await client.post(
        f"{gone[0]}/morning",
        data={"pain_knee": "8", "flags_knee": "swelling", "_csrf_token": token},
    )
    assert sent.status_code == 200, sent.text
    progression = (await client.get(f"{base}/progression", headers=headers)).json()
    assert progression["regions"]["knee"]["needs_clearance"] is True
    # the session's own form, sent from a page loaded before the re-plan
    token = CSRF.search((await client.get(gone[-1])).text).group(1)  # type: ignore[union-attr]
    sent = await client.post(
        gone[-1],
        data={
            "completed": "yes",
            "pain_low_back": "4",
            "timing_low_back": "after",
            "_csrf_token": token,
        },
    )
    assert sent.status_code == 200, sent.text
    progression = (await client.get(f"{base}/progression", headers=headers)).json()
    assert "low_back" in progression["regions"]
    nothing = await client.post(gone[-1], data={"completed": "yes", "_csrf_token": token})
    assert nothing.status_code == 404 and "nothing was saved" in nothing.text


async def test_feed_links_follow_public_url(settings, coach_key):
    app = create_app(replace(settings, public_url="https://plans.example.org"))
    async with AsyncTestClient(app) as client:
        made = await planned(client, coach_key)
        links = await feed_links(client, made["athlete"]["feed_url"])
        assert all(v.startswith("https://plans.example.org/checkin/") for v in links.values())


def test_checkin_links_are_redacted_in_log_lines(settings):
    """api.logs redacts /checkin/<token>... : the session page and the morning page."""
    from api.logs import redact

    token = checkin_token(settings.secret_key, "f" * 64, "abc@planner")
    for path in (f"/checkin/{token}", f"/checkin/{token}/morning"):
        line = redact(f'127.0.0.1:5 - "POST {path} HTTP/1.1" 200')
        assert token not in line and "/checkin/<redacted>" in line


async def test_a_refused_morning_checkin_comes_back_as_the_athlete_left_it(client, coach_key):
    made = await planned(client, coach_key)
    link = path_of(next(iter((await feed_links(client, made["athlete"]["feed_url"])).values())))
    token = await csrf_of(client, f"{link}/morning")
    refused = await client.post(
        f"{link}/morning",
        data={
            "pain_knee": "11",
            "kind_knee": "soreness",
            "flags_knee": "numbness",
            "_csrf_token": token,
        },
    )
    assert refused.status_code == 422 and "Not saved" in refused.text
    region = refused.text.split('id="region-knee"', 1)[1].split('class="region"', 1)[0]
    assert "<details open>" in region
    assert 'value="numbness" checked' in region
    assert 'value="soreness" selected' in region
    progression = await client.get(f"{made['base']}/progression", headers=auth(coach_key))
    assert "knee" not in progression.json()["regions"]


async def test_a_refused_checkin_names_each_bad_region_not_a_list_place(client, coach_key, after):
    """Two bad scores on the morning form read 'score: Input should be a valid integer': one
    error, and no region named. Each region's error now names it; the session form alike."""
    made = await planned(client, coach_key)
    link = path_of(next(iter((await feed_links(client, made["athlete"]["feed_url"])).values())))
    token = await csrf_of(client, f"{link}/morning")
    refused = await client.post(
        f"{link}/morning",
        data={"pain_knee": "abc", "pain_hip": "12", "_csrf_token": token},
    )
    assert refused.status_code == 422
    assert "knee score:" in refused.text and "hip score:" in refused.text, refused.text
    made, link, page, token = await checkin_page(client, coach_key, after)
    sent = await client.post(
        link, data={"completed": "yes", "pain_low_back": "lots", "_csrf_token": token}
    )
    assert sent.status_code == 422
    assert "low back score:" in sent.text and "pain.0" not in sent.text, sent.text


async def test_the_pages_assets_and_icon_come_from_the_package(client):
    """The stylesheet and the icon are served by the app itself (no CDN), and a page names its
    icon, so browsers stop asking for a /favicon.ico that is not there (a new user's trial)."""
    page = await client.get("/app/sign-in")
    assets = re.findall(r'<link [^>]*href="([^"]+)"', page.text)
    assert "/app/static/favicon.svg" in assets and "/app/static/style.css" in assets
    for path in assets:
        assert path.startswith("/app/static/"), path
        served = await client.get(path)
        assert served.status_code == 200, path
    icon = await client.get("/app/static/favicon.svg")
    assert icon.headers["content-type"].startswith("image/svg+xml")


async def test_the_roster_gives_each_time_with_its_zone(client, coach_key):
    """Athletes keep their own time zones: the roster's times name theirs (a new user's trial
    read 08:42 and 15:40 as different minutes; they were the same)."""
    made = await planned(client, coach_key)
    await sign_in(client, coach_key)
    roster = await client.get("/app/")
    assert re.search(r"Next: \w{3} \d+ \w{3} \d{2}:\d{2} CES?T, ", roster.text), roster.text
    assert made["athlete"]["timezone"] == "Europe/Berlin"


async def test_the_weekly_table_names_each_weeks_races(client, coach_key):
    """A B-race week read only 'build deload' (a new user's trial): the table names the race."""
    made = await planned(client, coach_key)
    monday = date.fromisoformat(made["plan"]["start"])
    saturday = monday + timedelta(days=5)
    rides = support.weekly_rides(monday, 2)
    rides = [r for r in rides if not r["start"].startswith(saturday.isoformat())]
    rides.append(
        support.ride(support.at(saturday, 9), 180, "race", title="Club race", priority="B")
    )
    headers = auth(coach_key)
    assert (
        await client.put(f"{made['base']}/rides", json=rides, headers=headers)
    ).status_code == 200
    body = {"start": monday.isoformat(), "weeks": 2}
    assert (
        await client.post(f"{made['base']}/plan", json=body, headers=headers)
    ).status_code == 201
    await sign_in(client, coach_key)
    page = await client.get(f"/app/athletes/{made['athlete']['id']}")
    assert f"B race &#39;Club race&#39; Sat {saturday.day}" in page.text, page.text


def test_what_changed_names_sessions_added_and_taken_out_and_each_changes_own_reason():
    """After a skip the check-in page said 'Your coming sessions stay as they were' while a
    strength session had been added (only new and changed sessions of the same UID were told);
    and every change carried every reason of the report (a mobility hold left out 'because
    ... step_up at the top of its range'). Judged on views.swaps, which the page shows."""
    from factories import MONDAY, at, mobility, problem, strength

    from api.web.views import swaps
    from planner.domain import Pattern

    prob = problem()
    zone = prob.zone
    kept = strength(prob, at(MONDAY, 18)).model_copy(update={"uid": "kept"})
    gone = strength(prob, at(MONDAY + timedelta(days=2), 18)).model_copy(update={"uid": "gone"})
    added = strength(prob, at(MONDAY + timedelta(days=6), 16)).model_copy(update={"uid": "new"})
    assert swaps([kept, gone], [kept, added], zone, "") == [
        f"Sunday {added.start.day} {added.start:%b} 16:00, strength: new session",
        f"Wednesday {gone.start.day} {gone.start:%b} 18:00, strength: taken out",
    ]

    stretch = mobility(prob, at(MONDAY + timedelta(days=1), 20)).model_copy(update={"uid": "m"})
    fewer = stretch.model_copy(update={"prescriptions": stretch.prescriptions[1:]})
    hinge = next(p for p in kept.prescriptions if p.pattern == Pattern.hinge)
    lighter = kept.model_copy(
        update={
            "prescriptions": [
                p.model_copy(update={"sets": 1}) if p is hinge else p for p in kept.prescriptions
            ]
        }
    )
    lines = swaps(
        [kept, stretch],
        [lighter, fewer],
        zone,
        "you reported low back pain 6/10 after",
        {"single_leg": "Step-up at the top of its range"},
    )
    assert lines == [
        f"Monday {kept.start.day} {kept.start:%b}, strength: {hinge.name} at "
        f"1 x {hinge.dose().split(' x ', 1)[1]} (was {hinge.dose()}), because you reported low "
        "back pain 6/10 after",
        f"Tuesday {stretch.start.day} {stretch.start:%b}, mobility: no "
        f"{stretch.prescriptions[0].name}, because you reported low back pain 6/10 after",
    ]
    assert not any("Step-up" in line for line in lines)
