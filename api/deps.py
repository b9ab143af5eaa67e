"""Request dependencies: the database session and the caller's identity and role."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from incidents.grading import GradingPolicy
from incidents.models import Role
from incidents.service import Actor
from incidents.tokens import authenticate


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

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
    token = authenticate(session, credentials.credentials)
    if token is None:
        raise unauthorized
    return Actor(name=token.name, role=Role(token.role))


def require(role: Role):
    def check(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        if actor.role.rank < role.rank:
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


class Page:
    """`limit` and `offset` of a list, bounded as API.md says."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset


PageDep = Annotated[Page, Depends()]
