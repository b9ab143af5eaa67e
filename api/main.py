"""The FastAPI application: JSON API under /api/v1, health, and (later) the web pages."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI

from api import logredact, web
from api.errors import BodySizeLimit, RefuseUnstorableText, install_error_handlers
from api.logs import install_access_log
from api.ratelimit import RateLimiter
from api.routes import (
    action_items,
    alerts,
    exports,
    health,
    imports,
    incidents,
    notifications,
    oncall,
    postmortems,
    quickfile,
    regulatory,
    reports,
    scoreboard,
    silences,
    sources,
    teams,
    tokens,
    webhooks,
)
from api.scheduler import build_scheduler
from api.telemetry import install_telemetry
from api.web.api_docs import install_api_docs
from api.web.form_posts import IdempotentFormPosts, PageErrors
from incidents.calendar import Calendar
from incidents.db import engine_for
from incidents.grading import load_policy
from incidents.settings import Settings, get_settings


def create_app(settings: Settings | None = None, *, run_scheduler: bool = False) -> FastAPI:
    """The application; with `run_scheduler` the scheduled jobs run in this process too."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = (
            build_scheduler(app.state.engine, settings, app.state.grading_policy)
            if run_scheduler
            else None
        )
        if scheduler is not None:
            scheduler.start()
        yield
        if scheduler is not None:
            scheduler.shutdown(wait=False)

    app = FastAPI(
        title="Stabilog",
        version=version("stabilog"),  # pyproject.toml's, one place to bump
        description="Stability incident log and postmortems for payment systems.",
        lifespan=lifespan,
        docs_url=None,  # served by api.web.api_docs from the package's own files
        redoc_url=None,  # ReDoc only comes from a CDN; /docs is the one browsable document
    )
    app.state.settings = settings
    # A malformed calendar file or policy stops start-up here, with the line and the problem, not
    # at first use.
    app.state.calendar = settings.calendar
    app.state.engine = engine_for(settings.database_url)
    app.state.grading_policy = load_policy(settings.grading_policy)
    install_error_handlers(app)
    logredact.install()
    install_telemetry(app)
    app.state.webhook_limiter = RateLimiter(
        settings.webhook_rate_per_minute, burst=max(10, settings.webhook_rate_per_minute // 6)
    )
    app.add_middleware(IdempotentFormPosts)
    app.add_middleware(RefuseUnstorableText)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(PageErrors)
    app.add_middleware(ActiveCalendar, calendar=app.state.calendar)
    install_access_log(app, settings)  # outermost: it sees the 413s and 429s too
    app.include_router(health.router)
    install_api_docs(app)
    app.include_router(web.router)
    app.include_router(quickfile.page_router)  # the filing page's reading of typed times
    for module in (
        incidents,
        quickfile,
        postmortems,
        action_items,
        alerts,
        sources,
        webhooks,
        reports,
        imports,
        notifications,
        regulatory,
        scoreboard,
        teams,
        tokens,
        exports,
        silences,
        oncall,
    ):
        app.include_router(module.router, prefix="/api/v1")
    return app


class ActiveCalendar:
    """Reads and shows the times of this app's request and response bodies in its calendar's
    zone (see `incidents.calendar`), so two apps with different settings never mix zones."""

    def __init__(self, app, calendar: Calendar) -> None:
        self.app = app
        self.calendar = calendar

    async def __call__(self, scope, receive, send) -> None:
        with self.calendar.activated():
            await self.app(scope, receive, send)
