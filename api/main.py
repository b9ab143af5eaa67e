"""The FastAPI application: JSON API under /api/v1, health, and (later) the web pages."""

from fastapi import FastAPI

from api.errors import BodySizeLimit, install_error_handlers
from api.routes import (
    action_items,
    alerts,
    health,
    imports,
    incidents,
    reports,
    sources,
    tokens,
    webhooks,
)
from incidents.db import engine_for
from incidents.grading import load_policy
from incidents.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Stabilog",
        version="0.1.0",
        description="Stability incident log and postmortems for payment systems.",
    )
    app.state.settings = settings
    app.state.engine = engine_for(settings.database_url)
    # A malformed policy stops start-up here, with the line and the problem, not at first use.
    app.state.grading_policy = load_policy(settings.grading_policy)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(health.router)
    for module in (
        incidents,
        action_items,
        alerts,
        sources,
        webhooks,
        reports,
        imports,
        tokens,
    ):
        app.include_router(module.router, prefix="/api/v1")
    return app
