"""The subscribable feed: GET /feeds/{token}.ics, reached by its secret token alone."""

from __future__ import annotations

from litestar import Controller, HttpMethod, Request, Response, route
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncEngine

from api.errors import NotFound
from api.plans import NOT_MODIFIED, feed_response
from api.repository import HOT_READS, sessions_fast
from api.security import digest
from api.settings import Settings
from api.web.signing import CheckinLinks

UNKNOWN_FEED = "no such feed (the link may have been rotated)"


class FeedController(Controller):
    path = "/feeds"
    tags = ["feeds"]

    @route(
        "/{filename:str}",
        http_method=[HttpMethod.GET, HttpMethod.HEAD],
        media_type="text/calendar",
        raises=[NotFound],
        responses=NOT_MODIFIED,
    )
    async def feed(
        self,
        filename: str,
        request: Request,
        db_engine: NamedDependency[AsyncEngine],
        settings: NamedDependency[Settings],
    ) -> Response[bytes]:
        """The athlete's plan as an iCalendar feed, reached by its secret token alone. Answers
        HEAD, and 304 to a matching If-None-Match (weak or strong) or If-Modified-Since."""
        # calendar clients poll this: Core on a pooled connection, no ORM session
        if not filename.endswith(".ics"):
            raise NotFoundException(UNKNOWN_FEED)
        token_hash = digest(filename.removesuffix(".ics"))
        found = await HOT_READS.feed(db_engine, token_hash)
        if found is None:
            raise NotFoundException(UNKNOWN_FEED)
        athlete, plan_row = found
        # every strength and mobility event links to its check-in page (api.web.checkin)
        links = CheckinLinks(
            settings.base_url(str(request.base_url)), settings.secret_key, token_hash, athlete.id
        )
        return await feed_response(
            request, athlete, plan_row, lambda: sessions_fast(db_engine, athlete.id), links
        )
