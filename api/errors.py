"""Client errors in Litestar's shape ({status_code, detail, extra}), each naming the problem."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from pydantic import ValidationError

from planner.errors import PlannerInputError


class Invalid:
    """422: well-formed but invalid; `extra` lists each field and why."""

    def __call__(self, detail: str, extra: list[dict[str, Any]] | None = None) -> HTTPException:
        return HTTPException(status_code=422, detail=detail, extra=extra or [])

    def from_validation(self, error: ValidationError, prefix: str = "") -> HTTPException:
        extra = []
        for item in error.errors():
            key = ".".join(str(p) for p in item["loc"])
            extra.append(
                {"key": f"{prefix}{key}", "message": item["msg"].removeprefix("Value error, ")}
            )
        detail = "; ".join(f"{e['key']}: {e['message']}" for e in extra[:5])
        return HTTPException(status_code=422, detail=f"invalid input: {detail}", extra=extra)


invalid = Invalid()


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


JSON_TYPES = ("application/json",)
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
    if content_type not in wanted:
        raise HTTPException(
            status_code=415,
            detail=f"unsupported content type {content_type or '(none)'!r}: send {wanted[0]}",
        )
