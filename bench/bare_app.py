"""A bare Litestar handler: the yardstick the feed's throughput is compared with."""

from litestar import Litestar, get

from api.app import tune_gc

BODY = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"


@get("/bare", media_type="text/calendar")
async def bare() -> bytes:
    return BODY


# the same server settings as the real app, garbage collector tuning included
app = Litestar([bare], on_startup=[tune_gc])
