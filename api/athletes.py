"""Athletes: create, list, read, change (If-Match), delete, and rotate the feed token."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from pydantic import BaseModel, Field, ValidationError

from api import clock
from api.bodies import validate_json
from api.convert import athlete_from_row, profile_of, progression_of
from api.db import AthleteRow
from api.errors import AUTH, JSON_BODY, OWNED, PreconditionFailed, invalid
from api.repository import HOT_READS, CoachData
from api.security import digest, new_secret
from api.settings import Settings
from api.staleness import flag_stale_plan
from planner.domain import Athlete, ProgressionState


class AthleteOut(BaseModel):
    id: uuid.UUID
    name: str
    timezone: str
    availability: dict[str, Any]
    equipment: list[str]
    settings: dict[str, Any]
    phase: str | None
    starting_levels: dict[str, int]
    # the coach's load per loaded exercise id (kg), used until the athlete logs one
    starting_loads: dict[str, float] = Field(default_factory=dict)
    needs_clearance: bool
    version: int
    created_at: datetime
    updated_at: datetime
    feed_url: str | None = None


class FeedUrl(BaseModel):
    feed_url: str


def athlete_out(row: AthleteRow, feed_url: str | None = None) -> AthleteOut:
    athlete = athlete_from_row(row)
    return AthleteOut(
        id=row.id,
        name=row.name,
        timezone=row.timezone,
        availability=athlete.availability.model_dump(mode="json"),
        equipment=[e.value for e in athlete.equipment],
        settings=athlete.settings.model_dump(mode="json"),
        phase=athlete.phase.value if athlete.phase else None,
        starting_levels={k.value: v for k, v in athlete.starting_levels.items()},
        starting_loads=dict(athlete.starting_loads),
        needs_clearance=row.needs_clearance,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        feed_url=feed_url,
    )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: an object merges into the target key by key (`null` removes the key); any
    other value, a list included, replaces what was there."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _progressed(progression: dict[str, Any]) -> bool:
    """Whether a stored progression has moved a level or a load (a red on the easiest rung
    records a halving that moves neither: the starting levels may still be placed)."""
    return any(
        (c.get("from_level"), c.get("from_load_kg")) != (c.get("to_level"), c.get("to_load_kg"))
        for c in progression.get("history") or []
    )


def etag_of(row: AthleteRow) -> str:
    return f'"athlete-{row.id}-v{row.version}"'


def feed_url(settings: Settings, request: Request, token: str) -> str:
    return f"{settings.base_url(str(request.base_url))}/feeds/{token}.ics"


def check_if_match(request: Request, current: str, what: str = "athlete") -> None:
    wanted = request.headers.get("if-match")
    if wanted is not None and wanted.strip() not in ("*", current):
        raise HTTPException(
            status_code=412,
            detail=f"stale If-Match: the {what} changed since you read it (current ETag {current})",
        )


async def new_feed_token(data_scope: CoachData, athlete_id: uuid.UUID) -> str:
    """A new feed token for the coach's athlete (POST .../feed-token and the dashboard): the
    old feed URL and every check-in link signed under it answer 404 from now on."""
    row = await data_scope.athlete(athlete_id, lock=True)
    token = new_secret("feed")
    row.feed_token_hash = digest(token)
    HOT_READS.forget(row.id)
    return token


class AthleteController(Controller):
    path = "/api/v1/athletes"
    tags = ["athletes"]

    @post("/", status_code=HTTP_201_CREATED, raises=AUTH + JSON_BODY)
    async def create(
        self,
        request: Request,
        data: Athlete,
        data_scope: NamedDependency[CoachData],
        settings: NamedDependency[Settings],
    ) -> Response[AthleteOut]:
        token = new_secret("feed")
        row = AthleteRow(
            coach_id=data_scope.coach.id,
            name=data.name,
            timezone=data.timezone,
            profile=profile_of(data),
            progression=ProgressionState.starting(data, clock.now()).model_dump(mode="json"),
            needs_clearance=False,
            feed_token_hash=digest(token),
            version=1,
        )
        data_scope.db.add(row)
        await data_scope.db.flush()
        await data_scope.db.refresh(row)
        return Response(
            athlete_out(row, feed_url(settings, request, token)),
            headers={"ETag": etag_of(row)},
            status_code=201,
        )

    @get("/", raises=AUTH)
    async def list_athletes(self, data_scope: NamedDependency[CoachData]) -> list[AthleteOut]:
        return [athlete_out(row) for row in await data_scope.athletes()]

    @get("/{athlete_id:uuid}", raises=OWNED)
    async def read(
        self, athlete_id: uuid.UUID, data_scope: NamedDependency[CoachData]
    ) -> Response[AthleteOut]:
        row = await data_scope.athlete(athlete_id)
        return Response(athlete_out(row), headers={"ETag": etag_of(row)})

    @patch(
        "/{athlete_id:uuid}",
        raises=OWNED + JSON_BODY + [PreconditionFailed],
        description="JSON merge patch (RFC 7386): an object merges key by key, so "
        '`{"availability": {"tuesday": [...]}}` changes Tuesday only and `{"settings": '
        '{"strength_gap_h": 60}}` one setting; `null` removes a key (its default returns); a '
        "list replaces the list. Honours If-Match. The plan is not re-made: re-plan with "
        "POST .../plan after changing availability, equipment or settings",
    )
    async def change(
        self,
        athlete_id: uuid.UUID,
        data: dict[str, Any],
        request: Request,
        data_scope: NamedDependency[CoachData],
    ) -> Response[AthleteOut]:
        row = await data_scope.athlete(athlete_id, lock=True)
        check_if_match(request, etag_of(row))
        row = await patch_athlete(data_scope, row, data)
        return Response(athlete_out(row), headers={"ETag": etag_of(row)})

    @delete("/{athlete_id:uuid}", status_code=HTTP_204_NO_CONTENT, raises=OWNED)
    async def remove(self, athlete_id: uuid.UUID, data_scope: NamedDependency[CoachData]) -> None:
        row = await data_scope.athlete(athlete_id)
        await data_scope.db.delete(row)
        HOT_READS.forget(row.id)

    @post("/{athlete_id:uuid}/feed-token", status_code=HTTP_201_CREATED, raises=OWNED)
    async def rotate_feed_token(
        self,
        request: Request,
        athlete_id: uuid.UUID,
        data_scope: NamedDependency[CoachData],
        settings: NamedDependency[Settings],
    ) -> FeedUrl:
        token = await new_feed_token(data_scope, athlete_id)
        return FeedUrl(feed_url=feed_url(settings, request, token))


async def patch_athlete(data_scope: CoachData, row: AthleteRow, data: dict[str, Any]) -> AthleteRow:
    """A JSON merge patch applied to a locked athlete row (PATCH .../athletes/{id} and the
    dashboard's forms): validated whole, stored, and the plan checked where the patch touches
    what the hard rules read. Raises the API's 422 naming the field."""
    current = athlete_from_row(row).model_dump(mode="json")
    unknown = set(data) - set(current)
    if unknown:
        raise invalid(
            f"unknown field(s): {', '.join(sorted(unknown))}",
            [{"key": k, "message": "unknown field"} for k in sorted(unknown)],
        )
    merged = merge_patch(current, data)
    try:
        athlete = validate_json(Athlete, merged)
    except ValidationError as exc:
        raise invalid.from_validation(exc) from exc
    row.name = athlete.name
    row.timezone = athlete.timezone
    row.profile = profile_of(athlete)
    if "starting_levels" in data and not _progressed(row.progression):
        # the ladders move to the new levels; pain, sign-offs, exposures and loads stay
        before = progression_of(row, athlete)
        placed = ProgressionState.starting(athlete, clock.now())
        placed.regions = before.regions
        placed.approvals = {**placed.approvals, **before.approvals}
        placed.exposures = before.exposures
        placed.loads = before.loads
        placed.history = before.history
        for pattern, was in before.patterns.items():
            now = placed.patterns.get(pattern)
            if now is not None and now.level == was.level:
                now.reduced_until = was.reduced_until  # a red's halving still holds there
        row.progression = placed.model_dump(mode="json")
    row.version += 1
    HOT_READS.forget(row.id)
    await data_scope.db.flush()
    if {"availability", "timezone", "settings", "phase"} & set(data):
        # what the hard rules read of the athlete: a window taken away may hold a session
        await flag_stale_plan(data_scope, row)
    await data_scope.db.refresh(row)
    return row
