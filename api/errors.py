"""Client errors in Litestar's shape ({status_code, detail, extra}), each naming the problem."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from pydantic import ValidationError

from planner.domain import outside_calendar
from planner.errors import PlannerInputError


class Invalid:
    """422: well-formed but invalid; `extra` lists each field and why."""

    def __call__(self, detail: str, extra: list[dict[str, Any]] | None = None) -> HTTPException:
        return HTTPException(status_code=422, detail=detail, extra=extra or [])

    def from_validation(self, error: ValidationError, prefix: str = "") -> HTTPException:
        extra: list[dict[str, Any]] = []
        for item in error.errors():
            key = ".".join(str(p) for p in item["loc"]) or "body"
            message = item["msg"].removeprefix("Value error, ")
            extra.append({"message": message, "key": f"{prefix}{key}"})
        detail = "; ".join(f"{e['key']}: {e['message']}" for e in extra[:5])
        return HTTPException(status_code=422, detail=f"invalid input: {detail}", extra=extra)


invalid = Invalid()


def check_date(key: str, value: date | datetime) -> None:
    """422 naming the field for a date or time outside EARLIEST .. LATEST (planner.domain), for
    values read outside a model (query parameters)."""
    message = outside_calendar(value)
    if message:
        raise invalid(f"invalid input: {key}: {message}", [{"key": key, "message": message}])


def http_error_handler(
    request: Request[Any, Any, Any], exc: HTTPException
) -> Response[dict[str, Any]]:
    """Every error body is JSON, also on the endpoints whose success is text/calendar (Litestar
    would otherwise label the JSON error with the handler's media type), and a body that is not
    JSON says so (Litestar passes on the decoder's bare message)."""
    if request.url.path.startswith(("/app/", "/checkin/")) or request.url.path == "/app":
        # the pages' own paths answer a person: a page, as their handlers' errors do (a path
        # no handler matches, /app/athletes/not-a-uuid, came here and showed JSON: a trial)
        from api.web.routes import html_error

        return html_error(request, exc)  # type: ignore[return-value]
    detail = exc.detail
    if isinstance(exc.__cause__, SerializationException):
        detail = f"malformed JSON body: {detail}"
    if isinstance(exc, RequestEntityTooLarge):  # Litestar's bare words: say what the limit is
        limit = _body_limit(request)
        if limit:
            detail = f"the request body is over this endpoint's limit of {limit:,} bytes"
    # `extra` is always there (api.md's shape), empty when there is nothing more to say
    extra = exc.extra if exc.extra is not None else []
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": detail, "extra": extra}
    return Response(
        body, status_code=exc.status_code, headers=exc.headers, media_type=MediaType.JSON
    )


def _body_limit(request: Request[Any, Any, Any]) -> int | None:
    handler = request.scope.get("route_handler")
    resolve = getattr(handler, "resolve_request_max_body_size", None)
    return resolve() if resolve is not None else None


# --- documented error responses (api.md, Errors) -------------------------------------------
# Route handlers list these in `raises=` so the OpenAPI schema shows each error a client can
# get, in Litestar's {status_code, detail, extra} shape. The class `detail` is the description.
# 400 is not listed: Litestar documents it (ValidationException) for every handler with input,
# and a second 400 class would make the schema a oneOf that every 400 body matches twice.


class Unauthorized(HTTPException):
    status_code = 401
    detail = "No or unknown coach key: send 'Authorization: Bearer <coach key>'"


class NotFound(HTTPException):
    status_code = 404
    detail = "Not found, or not yours"


class Conflict(HTTPException):
    status_code = 409
    detail = "Conflicts with what is stored (an overlapping ride), or no plan could be made"


class PreconditionFailed(HTTPException):
    status_code = 412
    detail = "Stale If-Match: the resource changed since it was read"


class TooLarge(HTTPException):
    status_code = 413
    detail = "Body too large (1 MiB for JSON, 5 MiB for a calendar file)"


class UnsupportedType(HTTPException):
    status_code = 415
    detail = "Wrong content type for this endpoint"


class Unprocessable(HTTPException):
    status_code = 422
    detail = "Well-formed but invalid: `extra` names each field and why"


AUTH: list[type[HTTPException]] = [Unauthorized]
OWNED: list[type[HTTPException]] = [Unauthorized, NotFound]
JSON_BODY: list[type[HTTPException]] = [TooLarge, UnsupportedType, Unprocessable]


def validation_handler(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    """Litestar reports bad bodies as 400; api.md keeps 400 for malformed input and 422 for
    well-formed input that breaks a rule, naming the field."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    malformed = (
        any(
            isinstance(e, dict)
            and (
                "JSON" in str(e.get("message", "")) or "decode" in str(e.get("message", "")).lower()
            )
            for e in extra
        )
        or "malformed" in str(exc.detail).lower()
    )
    status = 400 if malformed or not extra else 422
    detail = exc.detail
    for item in extra:
        if isinstance(item, dict):
            item["message"] = str(item.get("message", "")).removeprefix("Value error, ")
            item["key"] = item.get("key") or "body"
    if status == 422:
        parts = [
            f"{e.get('key', '')}: {e.get('message', '')}" for e in extra if isinstance(e, dict)
        ]
        detail = "invalid input: " + "; ".join(parts[:5])
    return Response({"status_code": status, "detail": detail, "extra": extra}, status_code=status)


def planner_input_handler(
    request: Request[Any, Any, Any], exc: PlannerInputError
) -> Response[dict[str, Any]]:
    extra = [{"key": exc.field, "message": exc.message}] if exc.field else []
    return Response({"status_code": 422, "detail": exc.message, "extra": extra}, status_code=422)


# the database out of reach (refused, or no answer within DB_CONNECT_TIMEOUT_S): a 503 to
# try again, not a 500 (an operator's trial saw 500s). Only these connection-level errors:
# SQLAlchemy's OperationalError also carries bugs (no such column), which stay 500s (a review)
DATABASE_DOWN = (ConnectionError, TimeoutError)
RETRY_AFTER_S = 30
errors_log = logging.getLogger("planner.errors")


def unavailable_handler(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    errors_log.warning("database unavailable: %s", type(exc).__name__)
    body = {
        "status_code": 503,
        "detail": "the database cannot be reached just now: try again in a moment",
        "extra": [],
    }
    return Response(
        body,
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
        media_type=MediaType.JSON,
    )


JSON_TYPES = ("application/json",)
MERGE_PATCH = "application/merge-patch+json"
CALENDAR_TYPES = ("text/calendar", "application/octet-stream", "text/plain")


async def require_content_type(request: Request[Any, Any, Any]) -> None:
    """415 for a body in a type the endpoint does not read (api.md, Errors)."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    length = request.headers.get("content-length")
    if length in (None, "0") and "transfer-encoding" not in request.headers:
        return
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    wanted = CALENDAR_TYPES if request.url.path.endswith("/rides/import") else JSON_TYPES
    if request.method == "PATCH":
        wanted = (*wanted, MERGE_PATCH)  # a PATCH is a JSON merge patch (RFC 7386's own type)
    if content_type not in wanted:
        raise HTTPException(
            status_code=415,
            detail=f"unsupported content type {content_type or '(none)'!r}: send {wanted[0]}",
        )
