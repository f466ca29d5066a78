"""Logging that never writes a secret: feed and check-in tokens and coach keys are redacted.

A feed URL's token is the feed's only credential, and a check-in link's signed part is the
athlete's; both travel in the path, which access logs print. Every log line goes through
RedactSecrets: its message, its arguments (uvicorn's access line is built from them) and its
traceback, so `GET /feeds/feed_abc....ics` is logged as `GET /feeds/<redacted>.ics`.
"""

from __future__ import annotations

import copy
import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

from litestar.exceptions import HTTPException
from litestar.logging.config import LoggingConfig

from planner.errors import PlannerInputError

REDACTED = "<redacted>"

# path segments that are credentials; [^<>...] keeps an already redacted line as it is
_FEED_PATH = re.compile(r"/feeds/[^/\s?#\"'<>]+")
_CHECKIN_PATH = re.compile(r"(?i)/checkin/[^\s?#\"'<>]+")
# a check-in token's own shape (api.web.signing: the UID, a dot, a 16-byte signature), as a
# path segment anywhere: /CHECKIN/<token> or /api/v1/<token> logged it whole (a hostile-input
# trial), or as a query's value (?k=<token>)
_CHECKIN_TOKEN = re.compile(r"(?<=[/=])[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]{22}(?=[/?#&\s\"'<>]|$)")
# the shapes api.security mints (feed_..., coach_...), wherever they turn up, and bearer keys
_SECRET = re.compile(r"\b(feed|coach)_[A-Za-z0-9_\-]{20,}")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s<]+")

# an absolute URL: a followed calendar's address carries its credential in the user part, the
# path (a "private-..." segment) or the query; only the scheme and host are kept
_URL = re.compile(r"\b(https?|webcal)://([^\s/\"'<>?#]+)([^\s\"'<>]*)")

_NUMBERS = (int, float, type(None))
_traceback = logging.Formatter()


def _feed_path(match: re.Match[str]) -> str:
    suffix = ".ics" if match.group(0).endswith(".ics") else ""
    return f"/feeds/{REDACTED}{suffix}"


def _url(match: re.Match[str]) -> str:
    scheme, authority, rest = match.groups()
    host = authority.rsplit("@", 1)[-1]
    user = f"{REDACTED}@" if host != authority else ""
    if rest.startswith(("/feeds/", "/checkin/")):
        kept = rest  # the service's own links: their tokens are redacted below, shape kept
    else:
        kept = f"/{REDACTED}" if rest.strip("/") else rest
    return f"{scheme}://{user}{host}{kept}"


def redact(text: str) -> str:
    """`text` with every feed token, check-in token and coach key replaced by <redacted>, and
    every other absolute URL cut to its scheme and host (a followed calendar's address)."""
    if "://" in text:
        text = _URL.sub(_url, text)
    if "/feeds/" in text:
        text = _FEED_PATH.sub(_feed_path, text)
    if "/" in text:
        text = _CHECKIN_PATH.sub(f"/checkin/{REDACTED}", text)
    if "/" in text or "=" in text:
        text = _CHECKIN_TOKEN.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    if "_" in text:
        text = _SECRET.sub(lambda m: f"{m.group(1)}_{REDACTED}", text)
    return text


def _redact_argument(value: Any) -> Any:
    if isinstance(value, _NUMBERS):
        return value  # %d and %s of numbers stay as they were
    text = value if isinstance(value, str) else str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


class RedactSecrets(logging.Filter):
    """Rewrites a record in place, so every handler after it sees only the redacted line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_argument(a) for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: _redact_argument(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            # formatters reuse exc_text when it is set, so the traceback is printed redacted
            record.exc_text = redact(_traceback.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


FILTER = {"redact": {"()": f"{__name__}.RedactSecrets"}}


# the loggers whose messages are whole JSON lines (api.metrics.log_line): printed bare
JSON_LOGGERS = ("planner.requests", "planner.jobs")


def bare_json_loggers(config: dict[str, Any], stream: str) -> None:
    """Print JSON_LOGGERS' lines as they are, on `stream`, behind RedactSecrets: a prefix
    ("INFO:     ", a time) made them lines no log shipper reads as JSON (an operator's trial)."""
    config.setdefault("formatters", {})["bare"] = {"format": "%(message)s"}
    config.setdefault("handlers", {})["json"] = {
        "class": "logging.StreamHandler",
        "formatter": "bare",
        "filters": ["redact"],
        "stream": stream,
    }
    for name in JSON_LOGGERS:
        config.setdefault("loggers", {})[name] = {
            "handlers": ["json"],
            "level": "INFO",
            "propagate": False,
            "filters": ["redact"],
        }


def server_log_config() -> dict[str, Any]:
    """uvicorn's logging, with every handler and named logger behind RedactSecrets. Litestar's
    own logger (uncaught exceptions name the path) and the root logger print through the same
    handler as uvicorn's messages."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = copy.deepcopy(FILTER)
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["loggers"]["litestar"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    for logger in config["loggers"].values():
        logger["filters"] = ["redact"]
    config["root"] = {"handlers": ["default"], "level": "INFO"}
    bare_json_loggers(config, "ext://sys.stderr")  # uvicorn's own lines go to stderr too
    return config


def log_server_error(logger: Any, scope: Any, traceback: list[str]) -> None:
    """An uncaught exception (a 500) logged with its traceback, redacted by RedactSecrets; a
    client's error (a 4xx, answered by the app's own handlers) is the client's, not logged."""
    exc = sys.exc_info()[1]
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return
    if isinstance(exc, PlannerInputError):  # the app's own handler answers it with a 422
        return
    logger.error(
        "Uncaught exception (%s %s):\n%s",
        scope.get("method", ""),
        scope.get("path", ""),
        "".join(traceback),
    )


def app_logging_config() -> LoggingConfig:
    """Litestar's default logging (the `litestar` logger and the root logger through a queue),
    with RedactSecrets on its handlers and its logger, and every 500's traceback logged (by
    default Litestar logs them only in debug mode)."""
    config = LoggingConfig(
        filters=copy.deepcopy(FILTER),
        log_exceptions="always",
        exception_logging_handler=log_server_error,
    )
    for handler in config.handlers.values():
        handler["filters"] = ["redact"]
    for logger in config.loggers.values():
        logger["filters"] = ["redact"]
    return config
