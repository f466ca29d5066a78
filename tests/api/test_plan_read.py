"""Reading a plan the fast way, and the feed's conditional requests (api.md, Revision 2).

GET .../plan builds its JSON from the stored rows without pydantic; these tests hold it to the
typed models of the OpenAPI and to what the planner's own serialization says.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import auth
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from support import BERLIN, create_athlete, feed_path, next_monday, weekly_rides

from api.convert import session_from_row
from api.db import SessionRow
from api.plan_models import PlanOut, SessionOut, session_json

WEEKS = 3


@pytest.fixture
async def planned(client, coach_key) -> dict[str, Any]:
    athlete = await create_athlete(
        client, coach_key, starting_levels={"hinge": 9, "knee_flexion": 4}
    )
    base = f"/api/v1/athletes/{athlete['id']}"
    monday = next_monday()
    rides = await client.put(
        f"{base}/rides", json=weekly_rides(monday, WEEKS), headers=auth(coach_key)
    )
    assert rides.status_code == 200, rides.text
    answer = await client.post(
        f"{base}/plan",
        json={"weeks": WEEKS, "start": monday.isoformat()},
        headers=auth(coach_key),
    )
    assert answer.status_code == 201, answer.text
    return {"base": base, "monday": monday, "feed": feed_path(athlete["feed_url"])}


async def test_plan_json_validates_against_the_typed_plan_model(client, coach_key, planned):
    answer = await client.get(f"{planned['base']}/plan", headers=auth(coach_key))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    plan = PlanOut.model_validate(answer.json())  # extra="forbid": no field the model lacks
    assert plan.sessions and len(plan.weeks_report) == WEEKS
    assert any(p.heavy for s in plan.sessions for p in s.prescriptions)


async def test_fast_session_json_says_what_the_planner_serialization_says(settings, planned):
    engine = create_async_engine(settings.database_url)
    try:
        async with async_sessionmaker(engine)() as db:
            rows = list((await db.scalars(select(SessionRow))).all())
    finally:
        await engine.dispose()
    zone = ZoneInfo(BERLIN)
    assert rows
    for row in rows:
        fast = SessionOut.model_validate(session_json(row, zone)).model_dump(mode="json")
        slow = {"id": str(row.id), **session_from_row(row, zone).model_dump(mode="json")}
        # the same instants and content; the fast path writes times in the athlete's zone
        for key in ("start", "end", "changed_at"):
            assert datetime.fromisoformat(fast.pop(key)) == datetime.fromisoformat(slow.pop(key))
        assert fast == slow


async def test_plan_from_to_returns_only_sessions_of_those_local_days(client, coach_key, planned):
    base, monday = planned["base"], planned["monday"]
    whole = (await client.get(f"{base}/plan", headers=auth(coach_key))).json()
    since, until = monday + timedelta(days=7), monday + timedelta(days=9)
    answer = await client.get(
        f"{base}/plan",
        params={"from": since.isoformat(), "to": until.isoformat()},
        headers=auth(coach_key),
    )
    assert answer.status_code == 200
    days = [
        datetime.fromisoformat(s["start"]).astimezone(ZoneInfo(BERLIN)).date()
        for s in whole["sessions"]
    ]
    expected = [
        s["id"] for s, day in zip(whole["sessions"], days, strict=True) if since <= day <= until
    ]
    assert expected, "the fixture plan should hold sessions in the chosen days"
    assert [s["id"] for s in answer.json()["sessions"]] == expected
    assert answer.json()["weeks_report"] == whole["weeks_report"]
    only_from = await client.get(
        f"{base}/plan", params={"from": since.isoformat()}, headers=auth(coach_key)
    )
    assert [s["id"] for s in only_from.json()["sessions"]] == [
        s["id"] for s, day in zip(whole["sessions"], days, strict=True) if day >= since
    ]


@pytest.mark.parametrize("value", ["tomorrow", "2027-02-30", "0001-01-01"])
async def test_plan_with_a_bad_from_date_answers_422_naming_from(client, coach_key, planned, value):
    answer = await client.get(
        f"{planned['base']}/plan", params={"from": value}, headers=auth(coach_key)
    )
    assert answer.status_code == 422
    assert answer.json()["extra"][0]["key"] == "from"


async def test_plan_with_its_etag_in_if_none_match_answers_304(client, coach_key, planned):
    first = await client.get(f"{planned['base']}/plan", headers=auth(coach_key))
    again = await client.get(
        f"{planned['base']}/plan",
        headers={**auth(coach_key), "If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304 and again.content == b""


async def test_a_time_zone_change_makes_the_plans_etag_stale(client, coach_key, planned):
    """The plan's bytes write every time in the athlete's zone: a PATCH of the zone rewrites
    them without a re-plan, and the old ETag answered 304 to a client holding Berlin times."""
    base, headers = planned["base"], auth(coach_key)
    first = await client.get(f"{base}/plan", headers=headers)
    patched = await client.patch(base, json={"timezone": "Europe/London"}, headers=headers)
    assert patched.status_code == 200, patched.text
    again = await client.get(
        f"{base}/plan", headers={**headers, "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 200, again.status_code
    assert again.headers["etag"] != first.headers["etag"]
    # the windows are local times: in the new zone the sessions sit an hour off them, so the
    # plan also warns (api.staleness, its version rises); the tag names the zone regardless
    from types import SimpleNamespace

    from api.plans import plan_etag

    row = SimpleNamespace(athlete_id="a", version=3)
    assert plan_etag(row, ZoneInfo("Europe/Berlin")) != plan_etag(row, ZoneInfo("Europe/London"))
    # the same instants, each written an hour behind (London is Berlin less an hour, DST alike)
    was = {s["id"]: datetime.fromisoformat(s["start"]) for s in first.json()["sessions"]}
    for session in again.json()["sessions"]:
        start = datetime.fromisoformat(session["start"])
        assert start == was[session["id"]]
        assert start.utcoffset() == was[session["id"]].utcoffset() - timedelta(hours=1)
    cached = await client.get(
        f"{base}/plan", headers={**headers, "If-None-Match": again.headers["etag"]}
    )
    assert cached.status_code == 304


async def test_a_replan_changes_what_get_plan_answers(client, coach_key, planned):
    base = planned["base"]
    before = (await client.get(f"{base}/plan", headers=auth(coach_key))).json()
    answer = await client.post(
        f"{base}/plan",
        json={"weeks": 1, "start": planned["monday"].isoformat()},
        headers=auth(coach_key),
    )
    assert answer.status_code == 201
    after = (await client.get(f"{base}/plan", headers=auth(coach_key))).json()
    assert after["version"] == before["version"] + 1
    assert after["weeks"] == 1 and len(after["weeks_report"]) == 1
    assert after == answer.json()


async def test_one_session_by_id_and_by_uid(client, coach_key, other_key, planned):
    plan = (await client.get(f"{planned['base']}/plan", headers=auth(coach_key))).json()
    wanted = plan["sessions"][2]
    by_id = await client.get(f"{planned['base']}/sessions/{wanted['id']}", headers=auth(coach_key))
    # the plan's session, and the reports sent for it (none yet)
    assert by_id.status_code == 200 and by_id.json() == {**wanted, "feedback": []}
    by_uid = await client.get(
        f"{planned['base']}/sessions/{wanted['uid']}", headers=auth(coach_key)
    )
    assert by_uid.json() == {**wanted, "feedback": []}
    theirs = await client.get(f"{planned['base']}/sessions/{wanted['id']}", headers=auth(other_key))
    assert theirs.status_code == 404


# --- the feed's conditional requests ------------------------------------------------------------


async def test_feed_answers_head_with_the_get_headers_and_no_body(client, planned):
    got = await client.get(planned["feed"])
    head = await client.head(planned["feed"])
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["last-modified"] == got.headers["last-modified"]
    assert int(head.headers["content-length"]) == len(got.content)
    assert head.headers["content-type"].startswith("text/calendar")


async def test_feed_head_of_an_unknown_token_answers_404(client, planned):
    assert (await client.head("/feeds/feed_not-a-token.ics")).status_code == 404


async def test_feed_matches_a_weak_etag_and_a_list_of_etags(client, planned):
    etag = (await client.get(planned["feed"])).headers["etag"]
    weak = await client.get(planned["feed"], headers={"If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304
    listed = await client.get(planned["feed"], headers={"If-None-Match": f'"other", W/{etag}'})
    assert listed.status_code == 304
    star = await client.get(planned["feed"], headers={"If-None-Match": "*"})
    assert star.status_code == 304
    stale = await client.get(planned["feed"], headers={"If-None-Match": 'W/"stale"'})
    assert stale.status_code == 200 and stale.content


async def test_feed_honours_if_modified_since(client, planned):
    modified = (await client.get(planned["feed"])).headers["last-modified"]
    stamp = parsedate_to_datetime(modified)
    same = await client.get(planned["feed"], headers={"If-Modified-Since": modified})
    assert same.status_code == 304
    later = format_datetime(stamp + timedelta(hours=1), usegmt=True)
    assert (
        await client.get(planned["feed"], headers={"If-Modified-Since": later})
    ).status_code == 304
    earlier = format_datetime(stamp - timedelta(seconds=1), usegmt=True)
    answer = await client.get(planned["feed"], headers={"If-Modified-Since": earlier})
    assert answer.status_code == 200 and answer.content
    garbage = await client.get(planned["feed"], headers={"If-Modified-Since": "yesterday-ish"})
    assert garbage.status_code == 200


async def test_feed_if_none_match_decides_over_if_modified_since(client, planned):
    modified = (await client.get(planned["feed"])).headers["last-modified"]
    answer = await client.get(
        planned["feed"], headers={"If-None-Match": '"stale"', "If-Modified-Since": modified}
    )
    assert answer.status_code == 200
