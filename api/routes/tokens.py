from fastapi import APIRouter, status

from api.deps import AdminDep, Id, SessionDep
from incidents import tokens
from incidents.models import ApiToken, ApiTokenCreate, ApiTokenPublic

router = APIRouter(prefix="/tokens", tags=["tokens"])


class IssuedToken(ApiTokenPublic):
    token: str


@router.post("", status_code=status.HTTP_201_CREATED)
def create_token(data: ApiTokenCreate, session: SessionDep, actor: AdminDep) -> IssuedToken:
    """The plain token is in this answer only; it is never shown again."""
    row, plain = tokens.create_token(session, data.name, data.role)
    return IssuedToken.model_validate(row, update={"token": plain})


@router.get("", response_model=list[ApiTokenPublic])
def list_tokens(session: SessionDep, actor: AdminDep) -> list[ApiToken]:
    return tokens.list_tokens(session)


@router.delete("/{token_id}", response_model=ApiTokenPublic)
def revoke_token(token_id: Id, session: SessionDep, actor: AdminDep) -> ApiToken:
    return tokens.revoke_token(session, token_id)
