"""Request dependencies: the settings and calendar, the database session, the caller's identity
and role, the grading policy."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from api.pagination import Page
from incidents.actors import Actor
from incidents.calendar import Calendar
from incidents.grading import GradingPolicy
from incidents.models import Role
from incidents.settings import Settings
from incidents.tokens import authenticate


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_calendar(request: Request) -> Calendar:
    return request.app.state.calendar


CalendarDep = Annotated[Calendar, Depends(get_calendar)]


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, before the answer is sent,
    so a 2xx means the change is stored; rolled back whole when anything raised.

    Domain functions never commit (see docs/architecture.md); this is where HTTP requests do.
    A page that catches a domain refusal to show it beside the form rolls back itself.
    """
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session
        session.commit()


# "function" scope: the commit above runs right after the route returns, so a refused commit
# (a conflicting concurrent change) still answers as an error rather than after a 2xx went out.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="A token from `stabilog token create`")


def current_actor(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="missing or invalid bearer token",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized
    actor = authenticate(session, credentials.credentials)
    if actor is None:
        raise unauthorized
    return actor


def require(role: Role):
    def check(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        if not actor.role.at_least(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"this needs the {role.value} role"
            )
        return actor

    return check


ViewerDep = Annotated[Actor, Depends(require(Role.viewer))]
OncallDep = Annotated[Actor, Depends(require(Role.oncall))]
AdminDep = Annotated[Actor, Depends(require(Role.admin))]


def get_policy(request: Request) -> GradingPolicy:
    return request.app.state.grading_policy


PolicyDep = Annotated[GradingPolicy, Depends(get_policy)]

# A row id in a path. Ids are PostgreSQL `integer` columns (and SQLite's driver cannot bind past
# 64 bits), so a larger number is refused with 422 here instead of failing the query with a 500.
MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


PageDep = Annotated[Page, Depends()]
