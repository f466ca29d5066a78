"""A bare Litestar handler: the yardstick the feed's throughput is compared with."""

from litestar import Litestar, get

BODY = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"


@get("/bare", media_type="text/calendar")
async def bare() -> bytes:
    return BODY


app = Litestar([bare])
