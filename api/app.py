"""The Litestar app factory: settings in, app out; plugins made once here."""

from __future__ import annotations

import gc
import uuid

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from litestar import Litestar, Router
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from sqlalchemy.pool import NullPool
from swagger_ui_bundle import swagger_ui_path

from api.athletes import AthleteController
from api.bodies import JsonBodies, JsonRequest
from api.db import metadata
from api.deps import provide_coach, provide_data
from api.errors import (
    DATABASE_DOWN,
    http_error_handler,
    planner_input_handler,
    require_content_type,
    unavailable_handler,
    validation_handler,
)
from api.feedback import AdaptController
from api.feeds import FeedController
from api.jobs import JobController
from api.logs import app_logging_config
from api.metrics import metrics_handler, observe_requests
from api.plans import PlanController
from api.rides import RideController
from api.runner import LocalRunner, Runner, SaqRunner, saq_config
from api.settings import Settings
from api.sources import SourceController
from api.system import ExerciseController, SystemController
from api.web.routes import csrf_config, limit_forms, template_config, web_router
from planner.errors import PlannerInputError

BEARER = "CoachKey"
# the docs page's scripts come from the swagger-ui-bundle package: no CDN, so /schema works
# offline and behind a strict network policy
DOCS_ASSETS = "/schema/assets"


def tune_gc() -> None:
    """Collect garbage less often, and never re-scan what start-up built.

    A plan request allocates tens of thousands of short-lived objects; with the default
    thresholds a full collection over the app's whole heap lands in some requests and
    doubles their time (bench/api_bench.py: POST .../plan p99 about 290 ms before, 170 after).
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    # keys of this app's own: advanced-alchemy keeps every config's keys in class-wide sets
    # and finds a free one by recursion, one level per app made before in the process (the
    # test suite makes about a thousand apps and hit the recursion limit)
    own = uuid.uuid4().hex[:12]
    db = SQLAlchemyAsyncConfig(
        session_scope_key=f"_sqlalchemy_db_session_{own}",
        engine_app_state_key=f"db_engine_{own}",
        session_maker_app_state_key=f"session_maker_class_{own}",
        connection_string=settings.database_url,
        metadata=metadata,
        create_all=False,  # Alembic owns the schema
        before_send_handler="autocommit",
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=(
            EngineConfig(poolclass=NullPool)
            if settings.null_pool
            else EngineConfig(
                pool_pre_ping=not settings.is_sqlite, connect_args=settings.connect_args
            )
        ),
    )
    api = Router(
        path="/",
        route_handlers=[
            AthleteController,
            RideController,
            PlanController,
            AdaptController,
            ExerciseController,
            SourceController,
            JobController,
        ],
        dependencies={"coach": Provide(provide_coach), "data_scope": Provide(provide_data)},
        security=[{BEARER: []}],
    )
    # background work (issue 11): SAQ on Redis when REDIS_URL is set (the API only enqueues;
    # no litestar-saq plugin here, whose heartbeat thread is for processes that run jobs),
    # else this process runs the jobs
    runner: Runner = (
        SaqRunner(settings, saq_config(settings).get_queues().get(settings.queue_name))
        if settings.redis_url
        else LocalRunner(settings)
    )
    app = Litestar(
        route_handlers=[
            api,
            metrics_handler(runner.depth),
            FeedController,
            SystemController,
            web_router(settings),  # the coach's pages (/app/) and the athletes' check-in
            create_static_files_router(
                path=DOCS_ASSETS,
                directories=[swagger_ui_path],
                include_in_schema=False,
                name="docs-assets",
            ),
        ],
        plugins=[SQLAlchemyPlugin(config=db), JsonBodies()],
        request_class=JsonRequest,
        logging_config=app_logging_config(),  # tokens in paths never reach a log
        dependencies={
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "jobs": Provide(lambda: runner, use_cache=True, sync_to_thread=False),
        },
        exception_handlers={
            HTTPException: http_error_handler,
            ValidationException: validation_handler,
            PlannerInputError: planner_input_handler,
            **dict.fromkeys(DATABASE_DOWN, unavailable_handler),
        },
        request_max_body_size=settings.json_body_limit,
        template_config=template_config(),
        # CSRF on the pages' forms only; the JSON API and feeds take no cookie (api.web.routes)
        csrf_config=csrf_config(settings),
        before_request=require_content_type,
        on_startup=[tune_gc, runner.start],
        # close the pool's connections when the app stops (tests start and stop many apps)
        on_shutdown=[runner.stop, db.get_engine().dispose],
        openapi_config=OpenAPIConfig(
            title="Periodization planner",
            version="1.0.0",
            description="Strength and mobility around a cyclist's rides. Coaching guidance, not medical advice.",
            path="/schema",
            components=Components(
                security_schemes={
                    BEARER: SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="A coach key, minted by `planner coach create --name NAME`",
                    )
                }
            ),
            render_plugins=[
                SwaggerRenderPlugin(
                    path="/",
                    js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                    css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                    standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
                    favicon="",
                )
            ],
        ),
        debug=settings.debug,
    )
    # /metrics' request figures and one log line per request, outside the router, so that a
    # path no route matches (a scan for /wp-login.php, a mistyped check-in link) counts too
    app.asgi_handler = observe_requests(limit_forms(app.asgi_handler))
    return app
