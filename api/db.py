"""Database models (SQLAlchemy 2, advanced-alchemy bases) and the engine set-up."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from advanced_alchemy.base import UUIDAuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column


class Coach(UUIDAuditBase):
    __tablename__ = "coach"

    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    # the dashboard's sign-out: a session cookie issued before it no longer signs in (a copy of
    # the cookie kept working for its 14 days)
    signed_out_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), nullable=True
    )


class AthleteRow(UUIDAuditBase):
    __tablename__ = "athlete"

    coach_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("coach.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    # the POST body minus name and timezone: availability, equipment, settings, phase, levels
    profile: Mapped[dict[str, Any]] = mapped_column(JsonB)
    progression: Mapped[dict[str, Any]] = mapped_column(JsonB)
    needs_clearance: Mapped[bool] = mapped_column(Boolean, default=False)
    feed_token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class RideRow(UUIDAuditBase):
    __tablename__ = "ride"
    __table_args__ = (UniqueConstraint("athlete_id", "external_id", name="uq_ride_external_id"),)

    athlete_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("athlete.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    duration_min: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str | None] = mapped_column(String(1), nullable=True)
    title: Mapped[str | None] = mapped_column(String(500), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(500), nullable=True)


class PlanRow(UUIDAuditBase):
    __tablename__ = "plan"

    athlete_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("athlete.id", ondelete="CASCADE"), unique=True
    )
    start: Mapped[date] = mapped_column(Date)
    weeks: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, Any]] = mapped_column(JsonB)
    version: Mapped[int] = mapped_column(Integer, default=1)


class SessionRow(UUIDAuditBase):
    __tablename__ = "plan_session"

    athlete_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("athlete.id", ondelete="CASCADE"), index=True
    )
    uid: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    start: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    end: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    heavy: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[dict[str, Any]] = mapped_column(JsonB)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


metadata = UUIDAuditBase.metadata


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: WAL for concurrent readers, foreign keys on, wait on a lock rather than fail."""
    module = type(dbapi_connection).__module__
    if "sqlite" not in module:
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class FeedbackRow(UUIDAuditBase):
    """Every feedback and pain check-in as sent: the record the progression history points at."""

    __tablename__ = "feedback"

    athlete_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("athlete.id", ondelete="CASCADE"), index=True
    )
    session_uid: Mapped[str | None] = mapped_column(String(120), nullable=True)
    # "session" (a completed strength session: strength logged), "mobility" (a completed
    # mobility session), "skipped" (not done), "unsaid" (pain with a session whose report did
    # not say whether it was done) or "checkin" (a pain score on its own)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JsonB)


class FormSentRow(UUIDAuditBase):
    """A page's feedback form, by the one-time id it was drawn with: sent again (a reload of
    its answer, a second tap, the phone reopening the tab), it is recognised and not counted
    twice (a morning check-in reloaded was stored twice, its pain counted twice)."""

    __tablename__ = "form_sent"
    __table_args__ = (UniqueConstraint("athlete_id", "form_id", name="uq_form_sent_form_id"),)

    athlete_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("athlete.id", ondelete="CASCADE"), index=True
    )
    form_id: Mapped[str] = mapped_column(String(64))


class CalendarSourceRow(UUIDAuditBase):
    """An athlete's published calendar (an iCal URL) that the service follows by itself."""

    __tablename__ = "calendar_source"
    __table_args__ = (UniqueConstraint("athlete_id", "url", name="uq_calendar_source_url"),)

    athlete_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("athlete.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    # title word -> ride kind, applied over the import's guess (api.sources.relabel)
    kinds: Mapped[dict[str, Any]] = mapped_column(JsonB)
    # the source's validators, sent back as If-None-Match / If-Modified-Since
    etag: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_modified: Mapped[str | None] = mapped_column(String(100), nullable=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the event UIDs of the last import: an event gone from the source is a ride to remove
    event_ids: Mapped[list[Any]] = mapped_column(JsonB)
    # event UIDs whose ride the coach deleted (DELETE .../rides/{id}) while the source still
    # had them: a refresh leaves them out instead of bringing the ride back (null: none)
    dismissed: Mapped[list[Any] | None] = mapped_column(JsonB, nullable=True)
    # pending, ok, not_modified, error or paused; reason says why for error and paused
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    changed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # the last import's counts (created, updated, unchanged, skipped, removed, replanned)
    last_result: Mapped[dict[str, Any]] = mapped_column(JsonB)


class JobRunRow(UUIDAuditBase):
    """One athlete's part of a background job: its state, and the ledger that makes a retried
    job idempotent (the row turns `done` in the transaction that does the work)."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job_id", "athlete_id", name="uq_job_run_athlete"),)

    job_id: Mapped[uuid.UUID] = mapped_column(index=True)
    coach_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("coach.id", ondelete="CASCADE"), index=True
    )
    athlete_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("athlete.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    # queued, running, done, failed or skipped
    state: Mapped[str] = mapped_column(String(12), default="queued")
    detail: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
