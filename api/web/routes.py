"""The web pages' wiring: templates, static files, CSRF, the coach's cookie and HTML errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response, Router
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import Coach
from api.repository import CoachData
from api.settings import Settings
from api.web.signing import SESSION_COOKIE, key_tag, purpose_key, read_session

HERE = Path(__file__).parent
SIGN_IN = "/app/sign-in"
# the pages' url-encoded forms hold a few dozen fields: a bound well above them. Parsing runs on
# the event loop, and the CSRF check parses the form before any sign-in is asked: 5 MB of
# "a=1&" from anyone held every other request for seconds (a hostile trial)
FORM_BODY_LIMIT = 64 * 1024
URLENCODED = b"application/x-www-form-urlencoded"


class SignInRequired(NotAuthorizedException):
    """No valid coach cookie: the page redirects to the sign-in form."""


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    from api.web.views import without_api_calls

    def filters(engine: JinjaTemplateEngine) -> None:
        engine.engine.filters["plain"] = without_api_calls

    return TemplateConfig(
        directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=filters
    )


def csrf_config(settings: Settings) -> CSRFConfig:
    """Double-submit CSRF tokens on the pages' forms only. Every other path is excluded: the
    JSON API and the feeds authenticate by bearer key or secret URL, never by cookie, so a
    forged cross-site request carries nothing they would honour (and they set no cookie)."""
    return CSRFConfig(
        secret=purpose_key(settings.secret_key, "csrf").hex(),
        cookie_httponly=True,
        cookie_samesite="lax",
        cookie_secure=bool(settings.public_url and settings.public_url.startswith("https://")),
        exclude=[r"^/(?!app/|app$|checkin/).+", r"^/app/static/"],
    )


def secure(request: Request[Any, Any, Any], settings: Settings) -> bool:
    """Cookies carry Secure when the request came over https (or the public URL is https)."""
    return request.url.scheme == "https" or (settings.public_url or "").startswith("https://")


async def provide_web_coach(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
) -> CoachData:
    """The signed-in coach's scoped data, from the signed session cookie."""
    session = read_session(settings.secret_key, request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise SignInRequired("sign in first")
    coach = await db_session.scalar(select(Coach).where(Coach.id == session.coach_id))
    # a coach whose key was replaced (or who was removed) is signed out everywhere
    if coach is None or key_tag(settings.secret_key, coach.key_hash) != session.key_tag:
        raise SignInRequired("sign in again")
    if signed_out(coach, session.issued):
        raise SignInRequired("signed out")
    return CoachData(db_session, coach)


def signed_out(coach: Coach, issued: float) -> bool:
    """Whether the coach signed out after this session was issued (to the millisecond: a
    session signed in the same second before the sign-out ended too, one signed after it
    stands)."""
    return coach.signed_out_at is not None and issued <= coach.signed_out_at.timestamp()


# a form's path under an athlete's page, and the page it was sent from
_FORM_PAGE = re.compile(r"(/app/athletes/[^/]+)(/sessions/[^/]+)?(?:/[^/]*)?")


def to_sign_in(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    """To the sign-in form, and back to the page after. A form sent signed out is not saved:
    the form says so, and leads back to the page it came from (a re-plan sent after signing
    out in another tab landed on the roster with no word: a trial)."""
    target = request.url.path
    lost = ""
    if request.method != "GET":
        page = _FORM_PAGE.fullmatch(target)
        target = (page.group(1) + (page.group(2) or "")) if page else "/app/"
        lost = "&lost=1"
    response = Redirect(f"{SIGN_IN}?next={quote(target)}{lost}", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/app")
    return response


FRIENDLY = {
    403: (
        "This form has expired",
        "The page was open too long or came from somewhere else. Go back, reload the page "
        "and send it again.",
    ),
    404: ("Not found", "There is nothing here, or it is not yours to see."),
}


def html_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    title, text = FRIENDLY.get(status, ("Something went wrong", str(exc.detail)))
    if request.url.path.startswith("/checkin/") and status == 404:
        title = "This check-in link does not work"
        text = (
            "The link may be old: your coach may have sent you a new calendar link, or the "
            "session was moved or removed from your plan. Open the session again from your "
            "calendar, or ask your coach."
        )
    return Template(
        "error.html",
        context={"title": title, "text": text, "status": status},
        status_code=status,
        media_type=MediaType.HTML,
    )


async def forms_welcome(request: Request[Any, Any, Any]) -> None:
    """The pages take HTML forms: the API's JSON-only content-type check does not apply."""
    return None


def web_router(settings: Settings) -> Router:
    from api.web.checkin import CheckinPages
    from api.web.pages import CoachPages

    return Router(
        path="/",
        route_handlers=[
            CoachPages,
            CheckinPages,
            create_static_files_router(
                path="/app/static",
                directories=[HERE / "static"],
                include_in_schema=False,
                name="web-static",
                cache_control=None,
            ),
        ],
        dependencies={"web": Provide(provide_web_coach)},
        exception_handlers={SignInRequired: to_sign_in, HTTPException: html_error},
        before_request=forms_welcome,
        include_in_schema=False,
    )


def limit_forms(app: ASGIApp) -> ASGIApp:
    """Refuse a url-encoded body over FORM_BODY_LIMIT with 413 before anything parses it: by
    its Content-Length, or by reading it (chunked) into a buffer handed on when it fits."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _urlencoded(scope):
            await app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > FORM_BODY_LIMIT:
            await _too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # a disconnect before the body ended: the app gets the disconnect, never the
                # part that came as if it were all (a knee 10/10 cut after "1" was stored as
                # 1/10: a review)
                replay: list[Message] = [message]
                break
            size += len(message.get("body", b""))
            if size > FORM_BODY_LIMIT:
                await _too_large(send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
                break

        async def buffered() -> Message:
            return replay.pop() if replay else await receive()

        await app(scope, buffered, send)

    return middleware


def _urlencoded(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";")[0].strip().lower() == URLENCODED
    return False


async def _too_large(send: Send) -> None:
    detail = f"a form is at most {FORM_BODY_LIMIT // 1024} KiB"
    body = json.dumps({"status_code": 413, "detail": detail, "extra": []}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
