"""/healthz (liveness: the process answers and reaches its database) and /readyz (readiness:
the database answers and its schema is the one this code was written for)."""

from functools import cache

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from incidents.schema import alembic_config

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """200 when the database answers, 503 when it does not."""
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse(
            {"status": "database unavailable"}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE
        )
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """200 when this instance may take traffic: the database answers and is at the newest
    Alembic revision this code knows. 503 naming the failed check otherwise, so a new instance
    of a rolling upgrade waits for `stabilog migrate` instead of failing on a missing column.
    A database at a revision this code does not know was migrated by a newer release: the old
    instances keep serving until they are rolled (migrate, then roll; docs/operations.md)."""
    newest, known = _revisions()
    checks = {"database": "ok", "schema": "ok"}
    failed = None
    try:
        with request.app.state.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        failed = "database"
        checks["database"] = _first_line(exc)
        checks["schema"] = "not checked"
    else:
        if current is None or (current != newest and current in known):
            failed = "schema"
            at = f"at revision {current}" if current else "never migrated"
            checks["schema"] = f"{at}, newest is {newest}: run stabilog migrate"
        elif current != newest:
            checks["schema"] = (
                f"ok: revision {current} is a newer release's, this one's is {newest}"
            )
    if failed is not None:
        return JSONResponse(
            {"status": "not ready", "failed": failed, "checks": checks},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return JSONResponse({"status": "ready", "checks": checks})


@cache  # the revisions shipped with this code do not change while it runs
def _revisions() -> tuple[str | None, frozenset[str]]:
    """The newest revision this code knows, and all of them."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    known = frozenset(script.revision for script in scripts.walk_revisions())
    return scripts.get_current_head(), known


def _first_line(exc: SQLAlchemyError) -> str:
    """The driver's reason (connection refused, no such file), without SQLAlchemy's boilerplate
    or the URL, which may carry a password."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"unavailable: {reason[0] if reason else type(exc).__name__}"
