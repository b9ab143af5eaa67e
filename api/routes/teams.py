from fastapi import APIRouter, Path, status

from api.deps import AdminDep, SessionDep, ViewerDep
from incidents import teams
from incidents.teams import SystemTeamPublic, SystemTeamWrite

router = APIRouter(prefix="/system-teams", tags=["teams"])

SystemName = Path(min_length=1, max_length=teams.NAME_MAX)


@router.get("")
def list_system_teams(session: SessionDep, actor: ViewerDep) -> list[SystemTeamPublic]:
    """Which team (责任团队) answers for each system, by system."""
    return [SystemTeamPublic.model_validate(row) for row in teams.list_mappings(session)]


@router.get("/{system}")
def read_system_team(
    session: SessionDep, actor: ViewerDep, system: str = SystemName
) -> SystemTeamPublic:
    return SystemTeamPublic.model_validate(teams.get_mapping(session, system))


@router.put("/{system}")
def map_system(
    data: SystemTeamWrite, session: SessionDep, actor: AdminDep, system: str = SystemName
) -> SystemTeamPublic:
    """Map the system to a team: incidents filed on it without a team take this one, and its
    incidents without a team are given it now. Incidents that have a team keep it."""
    mapping, _ = teams.map_system(session, system, data.team, actor=actor)
    return SystemTeamPublic.model_validate(mapping)


@router.delete("/{system}", status_code=status.HTTP_204_NO_CONTENT)
def unmap_system(session: SessionDep, actor: AdminDep, system: str = SystemName) -> None:
    teams.unmap_system(session, system)
