"""A local HTTP server that serves a calendar the test can change, answer 304 to, fail or stall."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo


def ics(events: list[tuple[str, datetime, int, str]]) -> bytes:
    """A calendar of (uid, start, minutes, title) events."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//calendar source//EN"]
    for uid, start, minutes, title in events:
        begin = start.astimezone(UTC)
        end = begin + timedelta(minutes=minutes)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20260101T000000Z",
            f"DTSTART:{begin:%Y%m%dT%H%M%SZ}",
            f"DTEND:{end:%Y%m%dT%H%M%SZ}",
            f"SUMMARY:{title}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def amateur_weeks(
    monday: date, weeks: int, zone: str = "Europe/Berlin"
) -> list[tuple[str, datetime, int, str]]:
    """Tuesday intervals, Thursday club ride, Saturday long ride, each with a stable UID."""
    tz = ZoneInfo(zone)
    events = []
    for week in range(weeks):
        day = monday + timedelta(weeks=week)
        events += [
            (
                f"tue-{week}@test",
                datetime.combine(day + timedelta(days=1), datetime.min.time(), tz).replace(hour=18),
                75,
                "Turbo intervals",
            ),
            (
                f"thu-{week}@test",
                datetime.combine(day + timedelta(days=3), datetime.min.time(), tz).replace(
                    hour=18, minute=30
                ),
                90,
                "Club ride",
            ),
            (
                f"sat-{week}@test",
                datetime.combine(day + timedelta(days=5), datetime.min.time(), tz).replace(hour=8),
                240,
                "Saturday long ride",
            ),
        ]
    return events


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up (a refresh past its timeout) breaks the pipe of a stalled answer:
    not a failure of the server's, and its traceback on stderr landed in a later test's
    captured output (a CLI test that asserts stderr is empty failed in a run)."""

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class CalendarServer:
    """Serves `body` at any path with a strong ETag and Last-Modified; honours If-None-Match.
    `status` forces an answer (500), `delay_s` stalls before answering. Counts requests."""

    def __init__(self) -> None:
        self.body = b""
        self.status: int | None = None
        self.delay_s = 0.0
        # headers sent instead of the usual ones on a 200 (an odd ETag, say)
        self.headers: dict[str, str] = {}
        self.requests: list[dict[str, str]] = []
        self.modified = datetime.now(UTC).replace(microsecond=0)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                server.requests.append({k.lower(): v for k, v in self.headers.items()})
                if server.delay_s:
                    time.sleep(server.delay_s)
                if server.status is not None:
                    self.send_response(server.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha256(server.body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                headers = {
                    "Content-Type": "text/calendar; charset=utf-8",
                    "ETag": etag,
                    "Last-Modified": format_datetime(server.modified, usegmt=True),
                    **server.headers,
                }
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/athlete.ics"

    def serve(self, body: bytes) -> None:
        self.body = body
        self.modified = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)

    def __enter__(self) -> CalendarServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
