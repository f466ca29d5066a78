"""Signed values of the web pages: the coach's session cookie and the athletes' check-in links.

Both are HMAC-SHA256 under keys derived from Settings.secret_key, one key per purpose, so a
value signed for one use never verifies for another. Nothing here is stored server-side.

A check-in link names a session by its calendar UID, and its athlete, and carries an HMAC over
both keyed with the athlete's current feed token hash (and the service's secret): rotating the
feed token changes the key, so every earlier link stops verifying, and a link signed for one
athlete's session cannot be bent to another's. The athlete in the link keeps the morning
check-in working after a re-plan removed the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
import uuid
from dataclasses import dataclass, field

SESSION_COOKIE = "planner_session"
# a coach stays signed in this long (sliding only by signing in again)
SESSION_MAX_AGE_S = 14 * 24 * 3600
# check-in signatures: 128 bits, URL-safe
CHECKIN_SIG_BYTES = 16


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def purpose_key(secret_key: str, purpose: str) -> bytes:
    """A key for one purpose, derived from the service's secret."""
    return hmac.new(secret_key.encode("utf-8"), purpose.encode("utf-8"), hashlib.sha256).digest()


# --- the coach's session cookie ----------------------------------------------------------------


@dataclass(frozen=True)
class CoachSession:
    coach_id: uuid.UUID
    # a digest of the coach's key hash when signing in: a new key (planner demo mints one on
    # each run) ends every session signed with the old one
    key_tag: str
    # when it was signed, in seconds (to the millisecond: a sign-out in the same second as a
    # sign-in elsewhere must still end that session; cookies of whole seconds still read)
    issued: float


def key_tag(secret_key: str, key_hash: str) -> str:
    return _b64(hmac.new(purpose_key(secret_key, "key-tag"), key_hash.encode(), "sha256").digest())[
        :22
    ]


def sign_session(
    secret_key: str, coach_id: uuid.UUID, key_hash: str, now: float | None = None
) -> str:
    payload = _b64(
        json.dumps(
            {
                "c": str(coach_id),
                "k": key_tag(secret_key, key_hash),
                # to the millisecond, rounded up: a sign-in just after a sign-out stands
                "t": math.ceil((now or time.time()) * 1000) / 1000,
            },
            separators=(",", ":"),
        ).encode()
    )
    mac = hmac.new(purpose_key(secret_key, "session"), payload.encode(), "sha256").digest()
    return f"{payload}.{_b64(mac)}"


def read_session(
    secret_key: str, value: str | None, now: float | None = None
) -> CoachSession | None:
    """The cookie's session when its signature holds and it has not expired, else None."""
    if not value or value.count(".") != 1 or len(value) > 1000:
        return None
    payload, mac = value.split(".")
    wanted = hmac.new(purpose_key(secret_key, "session"), payload.encode(), "sha256").digest()
    try:
        if not hmac.compare_digest(_unb64(mac), wanted):
            return None
        data = json.loads(_unb64(payload))
        issued = data["t"]
        if isinstance(issued, bool) or not isinstance(issued, int | float):
            return None
        session = CoachSession(uuid.UUID(data["c"]), str(data["k"]), float(issued))
    except (ValueError, KeyError, TypeError):
        return None
    if (now or time.time()) - session.issued > SESSION_MAX_AGE_S:
        return None
    return session


# --- check-in links ----------------------------------------------------------------------------


def _checkin_mac(secret_key: str, feed_token_hash: str, payload: str) -> bytes:
    key = hmac.new(purpose_key(secret_key, "checkin"), feed_token_hash.encode(), "sha256").digest()
    return hmac.new(key, payload.encode("utf-8"), "sha256").digest()[:CHECKIN_SIG_BYTES]


@dataclass(frozen=True)
class CheckinTarget:
    """What a check-in token names (not yet verified): the session's UID, and the athlete
    where the link carries them (links made before they did name only the session)."""

    uid: str
    athlete_id: uuid.UUID | None


def _payload(uid: str, athlete_id: uuid.UUID | None) -> str:
    # the athlete rides along: a link whose session a re-plan removed still leads to the
    # athlete's morning check-in (a hostile trial: pain through such a link was refused)
    return uid if athlete_id is None else f"{uid} {athlete_id}"


def checkin_token(
    secret_key: str, feed_token_hash: str, uid: str, athlete_id: uuid.UUID | None = None
) -> str:
    """The path segment of a session's check-in link: the UID (and athlete) and a signature."""
    payload = _payload(uid, athlete_id)
    return f"{_b64(payload.encode('utf-8'))}.{_b64(_checkin_mac(secret_key, feed_token_hash, payload))}"


def checkin_target(token: str) -> CheckinTarget | None:
    """What a token names (not yet verified), or None for a token of the wrong shape."""
    if token.count(".") != 1 or len(token) > 400:
        return None
    encoded, _ = token.split(".")
    try:
        payload = _unb64(encoded).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if " " not in payload:
        return CheckinTarget(payload, None)
    uid, _, athlete = payload.rpartition(" ")
    try:
        return CheckinTarget(uid, uuid.UUID(athlete))
    except ValueError:
        return None


def checkin_valid(secret_key: str, feed_token_hash: str, token: str) -> bool:
    target = checkin_target(token)
    if target is None:
        return False
    try:
        sig = _unb64(token.split(".")[1])
    except ValueError:
        return False
    payload = _payload(target.uid, target.athlete_id)
    return hmac.compare_digest(sig, _checkin_mac(secret_key, feed_token_hash, payload))


def checkin_url(
    base_url: str,
    secret_key: str,
    feed_token_hash: str,
    uid: str,
    athlete_id: uuid.UUID | None = None,
) -> str:
    token = checkin_token(secret_key, feed_token_hash, uid, athlete_id)
    return f"{base_url.rstrip('/')}/checkin/{token}"


@dataclass(frozen=True)
class CheckinLinks:
    """Makes the check-in links of one athlete's feed: base URL, service secret, feed token."""

    base_url: str
    secret_key: str = field(repr=False)
    feed_token_hash: str = field(repr=False)
    athlete_id: uuid.UUID | None = None

    def __call__(self, uid: str) -> str:
        return checkin_url(
            self.base_url, self.secret_key, self.feed_token_hash, uid, self.athlete_id
        )

    @property
    def cache_key(self) -> str:
        """What the links depend on, for a cache of rendered feeds (no secret in it)."""
        tag = key_tag(self.secret_key, self.feed_token_hash)
        return f"{self.base_url}|{tag}|{self.athlete_id}"
