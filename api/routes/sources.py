from fastapi import APIRouter, status

from api.deps import AdminDep, Id, SessionDep
from incidents.alerts import sources
from incidents.alerts.models import Source, SourceCreate, SourcePublic, SourceUpdate

router = APIRouter(prefix="/sources", tags=["sources"])


def public(source: Source) -> SourcePublic:
    return SourcePublic.model_validate(
        source,
        update={"has_secret": bool(source.secret), "webhook_path": sources.webhook_path(source)},
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_source(data: SourceCreate, session: SessionDep, actor: AdminDep) -> SourcePublic:
    return public(sources.create_source(session, data))


@router.get("")
def list_sources(session: SessionDep, actor: AdminDep) -> list[SourcePublic]:
    return [public(source) for source in sources.list_sources(session)]


@router.patch("/{source_id}")
def edit_source(
    source_id: Id, data: SourceUpdate, session: SessionDep, actor: AdminDep
) -> SourcePublic:
    changes = data.model_dump(exclude_unset=True)
    return public(sources.update_source(session, source_id, changes))


@router.post("/{source_id}/rotate-key")
def rotate_key(source_id: Id, session: SessionDep, actor: AdminDep) -> SourcePublic:
    """A new webhook URL; the old one is refused from now on."""
    return public(sources.rotate_key(session, source_id))
