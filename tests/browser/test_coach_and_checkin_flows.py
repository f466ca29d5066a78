"""The flows in a real browser: the coach's loop, the athlete's red flag, CSRF, a rotated feed
token (issue 10), and a coach's sign-off of the first barbell hinge (issue 9). Each page
visited is saved under tests/artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import icalendar
import pytest
from playwright.sync_api import Page, expect

from api import clock

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def next_monday() -> str:
    today = datetime.now(UTC).date()
    return (today + timedelta(days=7 - today.weekday())).isoformat()


def planned(api: httpx.Client, key: str, name: str, *, barbell: bool = False) -> dict[str, Any]:
    """An athlete on the middle rungs (so red pain has a rung to step down to), with two weeks
    of rides and a plan from next Monday; `barbell`: one who has a barbell."""
    headers = {"Authorization": f"Bearer {key}"}
    body = {
        "name": name,
        "timezone": "Europe/Berlin",
        "availability": {d: [{"start": "06:00", "end": "21:00"}] for d in WEEKDAYS},
        "equipment": ["bodyweight", "band", "ball", "box", "dumbbell", "bench"]
        + (["barbell"] if barbell else []),
        "starting_levels": {"squat": 2, "knee_flexion": 2, "single_leg": 2},
    }
    athlete = api.post("/api/v1/athletes", json=body, headers=headers).json()
    base = f"/api/v1/athletes/{athlete['id']}"
    monday = datetime.fromisoformat(next_monday())
    rides = []
    for week in range(2):
        day = monday + timedelta(weeks=week)
        rides += [
            {
                "start": (day + timedelta(days=1, hours=18)).isoformat() + "+01:00",
                "duration_min": 75,
                "kind": "intervals",
                "title": "Turbo intervals",
            },
            {
                "start": (day + timedelta(days=5, hours=8)).isoformat() + "+01:00",
                "duration_min": 240,
                "kind": "long",
                "title": "Saturday long ride",
            },
        ]
    assert api.put(f"{base}/rides", json=rides, headers=headers).status_code == 200
    plan = api.post(
        f"{base}/plan", json={"start": monday.date().isoformat(), "weeks": 2}, headers=headers
    )
    assert plan.status_code == 201, plan.text
    return {"athlete": athlete, "base": base, "plan": plan.json(), "headers": headers}


def first_strength(plan: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in plan["sessions"] if s["kind"] == "strength")


@pytest.fixture
def after(monkeypatch: pytest.MonkeyPatch):
    """Move the service's clock (the server runs in this process) to just after a session."""

    def move(session: dict[str, Any]) -> None:
        moment = datetime.fromisoformat(session["end"]) + timedelta(minutes=10)
        monkeypatch.setattr(clock, "now", lambda: moment.astimezone(UTC))

    return move


def checkin_links(api: httpx.Client, feed_url: str) -> dict[str, str]:
    """UID -> the check-in link in the event's URL property, read from the public feed."""
    path = "/feeds/" + feed_url.rsplit("/feeds/", 1)[1]
    answer = api.get(path)
    assert answer.status_code == 200
    return {
        str(e["UID"]): str(e["URL"])
        for e in icalendar.Calendar.from_ical(answer.content).walk("VEVENT")
    }


def sign_in(page: Page, url: str, key: str) -> None:
    page.goto(f"{url}/app/")
    expect(page.get_by_role("heading", name="Coach sign-in")).to_be_visible()
    page.get_by_label("Coach key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Roster")).to_be_visible()


def test_coach_logs_red_knee_pain_and_sees_the_ladder_step_down_and_the_calendar_change(
    page: Page, server, api, coach_key, after, shot
):
    made = planned(api, coach_key, "Lea Lindqvist")
    session = first_strength(made["plan"])
    after(session)
    sign_in(page, server["url"], coach_key)
    shot(page, "1-roster")
    page.get_by_role("link", name="Lea Lindqvist").click()
    expect(page.get_by_role("heading", name="Lea Lindqvist")).to_be_visible()
    squat = page.locator('tr[data-pattern="squat"] td.level')
    assert squat.inner_text() == "2"
    calendar_before = page.locator(".calendar").inner_text()
    shot(page, "1-athlete-before")
    page.locator(".tolog a").first.click()
    expect(page.get_by_role("heading", name="Log feedback")).to_be_visible()
    page.get_by_label("Done").check()
    page.get_by_label("How hard was it?").select_option("7")
    page.get_by_label("Knee pain score").select_option("6")
    page.get_by_label("Knee: when").select_option("after")
    shot(page, "1-session-form")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Saved. What changed")).to_be_visible()
    expect(page.locator(".outcome")).to_contain_text("level 2")
    shot(page, "1-session-saved")
    page.get_by_role("link", name="Back to Lea Lindqvist").click()
    expect(squat).to_have_text("1")
    assert page.locator(".calendar").inner_text() != calendar_before
    expect(page.locator("svg.chart circle").first).to_be_attached()
    shot(page, "1-athlete-after")


def test_athlete_red_flag_from_the_feeds_link_shows_the_clinician_message_and_tops_the_roster(
    browser, server, api, coach_key, after, shot
):
    calm = planned(api, coach_key, "Aaron Calm")
    made = planned(api, coach_key, "Zoe Flag")
    session = first_strength(made["plan"])
    link = checkin_links(api, made["athlete"]["feed_url"])[session["uid"]]
    assert link.startswith(server["url"] + "/checkin/")
    after(session)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    athlete = phone.new_page()
    athlete.goto(link)
    expect(athlete.get_by_role("heading", level=1)).to_be_visible()
    athlete.get_by_label("Done").check()
    athlete.get_by_label("Knee pain score").select_option("4")
    athlete.locator("#region-knee summary").click()
    athlete.get_by_label("Swelling").first.check()
    shot(athlete, "2-checkin-form")
    athlete.get_by_role("button", name="Send").click()
    expect(athlete.get_by_role("heading", name="Please see a clinician")).to_be_visible()
    expect(athlete.locator(".clinician")).to_contain_text("clinician")
    shot(athlete, "2-checkin-red-flag")
    athlete.get_by_role("link", name="Tomorrow morning").click()
    expect(athlete.get_by_role("heading", name="Morning check-in")).to_be_visible()
    shot(athlete, "2-morning")
    phone.close()
    coach = browser.new_context(viewport={"width": 1280, "height": 900})
    page = coach.new_page()
    sign_in(page, server["url"], coach_key)
    first = page.locator(".roster li").first
    expect(first).to_contain_text("Zoe Flag")
    expect(first).to_contain_text("clearance waiting: knee")
    expect(page.locator(".roster li").filter(has_text="Aaron Calm")).to_be_visible()
    assert calm["athlete"]["id"] not in first.inner_html()
    shot(page, "2-roster-clearance-first")
    first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Clearance waiting")).to_be_visible()
    shot(page, "2-athlete-clearance")
    coach.close()


def test_a_form_posted_without_its_csrf_token_is_refused(page: Page, server, api, coach_key, shot):
    made = planned(api, coach_key, "Casey Csrf")
    sign_in(page, server["url"], coach_key)
    page.goto(f"{server['url']}/app/athletes/{made['athlete']['id']}")
    version = made["plan"]["version"]
    page.evaluate(
        "document.querySelectorAll('form[action$=\"/plan\"] input[name=_csrf_token]')"
        ".forEach(e => e.remove())"
    )
    page.get_by_role("button", name="Re-plan").click()
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    shot(page, "3-csrf-refused")
    plan = api.get(f"{made['base']}/plan", headers=made["headers"])
    assert plan.json()["version"] == version


def test_a_rotated_feed_token_makes_the_old_checkin_link_404(
    page: Page, server, api, coach_key, shot
):
    made = planned(api, coach_key, "Robin Rotate")
    old = next(iter(checkin_links(api, made["athlete"]["feed_url"]).values()))
    page.goto(old)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    sign_in(page, server["url"], coach_key)
    page.goto(f"{server['url']}/app/athletes/{made['athlete']['id']}")
    # one click broke the athlete's subscription (a new user's trial): the box comes first
    page.get_by_role("button", name="New calendar link").click()
    expect(page.get_by_role("heading", name="New calendar link")).not_to_be_visible()
    assert api.get("/feeds/" + made["athlete"]["feed_url"].rsplit("/feeds/", 1)[1]).is_success
    page.get_by_label("I will send the athlete the new link").check()
    page.get_by_role("button", name="New calendar link").click()
    expect(page.get_by_role("heading", name="New calendar link")).to_be_visible()
    new_feed = page.get_by_role("textbox", name="Calendar link").input_value()
    shot(page, "4-rotated")
    answer = page.goto(old)
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="This check-in link does not work")).to_be_visible()
    shot(page, "4-old-link-404")
    fresh = next(iter(checkin_links(api, new_feed).values()))
    assert fresh != old
    assert page.goto(fresh).status == 200  # type: ignore[union-attr]


def test_coach_signs_off_the_deadlift_ahead_of_its_gate_from_the_athlete_page(
    page: Page, server, api, coach_key, shot
):
    made = planned(api, coach_key, "Dana Hinge", barbell=True)
    sign_in(page, server["url"], coach_key)
    page.get_by_role("link", name="Dana Hinge").click()
    expect(page.get_by_role("heading", name="Dana Hinge")).to_be_visible()
    # nothing waits yet: the form is folded away under its summary
    expect(page.get_by_label("Sign off the first")).to_be_hidden()
    page.get_by_text("Sign off a barbell hinge ahead of time").click()
    page.get_by_label("Sign off the first").select_option("deadlift")
    page.get_by_label("Note (what you checked").fill("ready when the gate opens")
    shot(page, "5-sign-off-form")
    page.get_by_role("button", name="Sign off").click()
    expect(page.get_by_role("heading", name="Deadlift signed off")).to_be_visible()
    expect(page.locator("p.signed")).to_contain_text("Deadlift signed off on")
    expect(page.locator("p.signed")).to_contain_text("ready when the gate opens")
    # only the Romanian deadlift is left to sign off, and it is not chosen for the coach: the
    # form sent again would sign off the next lift (a new user's trial)
    options = page.locator("#approve-exercise option").all_text_contents()
    assert options == ["Choose the lift", "Romanian deadlift"], options
    assert page.locator("#approve-exercise").input_value() == ""
    shot(page, "5-signed-off")
    progression = api.get(f"{made['base']}/progression", headers=made["headers"]).json()
    assert [a["exercise_id"] for a in progression["approvals"]] == ["deadlift"]


def test_a_load_typed_with_a_decimal_comma_is_kept_as_kilograms(
    browser, server, api, coach_key, after
):
    """A number field in an English-language Chromium turned '12,5' into 125 before the form
    was sent: ten times the load, stored and shown to the coach (a new user's trial). The
    field is text with a decimal keypad, and the server reads the comma."""
    made = planned(api, coach_key, "Kim Komma")
    session = first_strength(made["plan"])
    link = checkin_links(api, made["athlete"]["feed_url"])[session["uid"]]
    after(session)
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, locale="en-US"
    )
    athlete = phone.new_page()
    athlete.goto(link)
    athlete.get_by_label("Done").check()
    load = athlete.get_by_label("Load kg").first
    load.fill("")
    load.type("12,5")
    athlete.get_by_role("button", name="Send").click()
    expect(athlete.get_by_role("heading", name="Saved. What changed")).to_be_visible()
    phone.close()
    read = api.get(f"{made['base']}/sessions/{session['id']}", headers=made["headers"]).json()
    (report,) = read["feedback"]
    loads = [e.get("load_kg") for e in report["report"]["exercises"]]
    assert loads[0] == 12.5, loads


def test_on_a_phone_a_reloaded_check_in_is_kept_once_and_the_coach_can_read_the_reports(
    browser, server, api, coach_key, after, shot
):
    """Three things a trial on a phone met: reloading the morning check-in's answer sent it
    again (stored twice); the weekly report's reasons were squeezed to a word a line; the pain
    chart's labels were about 5 px tall."""
    made = planned(api, coach_key, "Pia Phone")
    session = first_strength(made["plan"])
    link = checkin_links(api, made["athlete"]["feed_url"])[session["uid"]]
    after(session)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    athlete = phone.new_page()
    athlete.goto(link + "/morning")
    athlete.get_by_label("Knee score this morning").select_option("3")
    athlete.get_by_role("button", name="Send").click()
    expect(athlete.get_by_role("heading", name="Saved. What changed")).to_be_visible()
    athlete.reload()  # the browser sends the form again
    expect(athlete.get_by_role("heading", name="Saved already")).to_be_visible()
    shot(athlete, "7-morning-reloaded")
    phone.close()
    coach = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = coach.new_page()
    sign_in(page, server["url"], coach_key)
    page.get_by_role("link", name="Pia Phone").click()
    # a week's reasons on the screen at the phone's width, wide enough to read (they sat
    # off-screen behind a sideways scroll: a trial), each figure with its label
    reasons = page.locator("table.weeks tbody tr").first.locator("td").last.bounding_box()
    assert reasons is not None and reasons["width"] >= 200, reasons
    assert reasons["x"] >= 0 and reasons["x"] + reasons["width"] <= 390, reasons
    phase = page.locator("table.weeks tbody tr").first.locator("td").first
    assert phase.evaluate("e => getComputedStyle(e, '::before').content") == '"Phase: "'
    label = page.locator("svg.chart text.axis").first.bounding_box()
    assert label is not None and label["height"] >= 9, label
    shot(page, "7-athlete-on-a-phone")
    coach.close()
