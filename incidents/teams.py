"""Teams: which team (责任团队) answers for a system, so an incident's 故障积分 lands on a team
without anyone typing it.

An incident filed without a team takes its system's team, and so does one whose system changes
while its team is empty or was the old system's. The team is stored on the incident, not looked
up when counting: a mapping changed later (a system handed to another team) leaves the points of
past incidents where they fell.
"""

from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, select

from incidents import audit
from incidents.actors import Actor
from incidents.db import UTCDateTime, utcnow
from incidents.errors import NotFound
from incidents.models import Incident, Moment, OneLine, WriteModel

NAME_MAX = 100  # incident.system and incident.team


class SystemTeam(SQLModel, table=True):
    __tablename__ = "system_team"
    id: int | None = Field(default=None, primary_key=True)
    system: str = Field(max_length=NAME_MAX, unique=True)
    team: str = Field(max_length=NAME_MAX)
    updated_by: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class SystemTeamWrite(WriteModel):
    team: OneLine = Field(min_length=1, max_length=NAME_MAX)


class SystemTeamPublic(SQLModel):
    system: str
    team: str
    updated_by: str
    updated_at: Moment


def team_of(session: Session, system: str | None) -> str | None:
    """The team mapped to `system`, or None."""
    if system is None:
        return None
    return session.exec(select(SystemTeam.team).where(col(SystemTeam.system) == system)).first()


def get_mapping(session: Session, system: str) -> SystemTeam:
    mapping = session.exec(select(SystemTeam).where(col(SystemTeam.system) == system)).first()
    if mapping is None:
        raise NotFound("team of system", system)
    return mapping


def list_mappings(session: Session) -> list[SystemTeam]:
    return list(session.exec(select(SystemTeam).order_by(col(SystemTeam.system))).all())


def map_system(session: Session, system: str, team: str, *, actor: Actor) -> tuple[SystemTeam, int]:
    """Map `system` to `team` (replacing its mapping), and give the system's incidents that have
    no team this one, each audited. Incidents that have a team keep it. Returns the mapping and
    how many incidents were given the team."""
    system, team = system.strip(), team.strip()
    mapping = session.exec(select(SystemTeam).where(col(SystemTeam.system) == system)).first()
    if mapping is None:
        mapping = SystemTeam(system=system, team=team, updated_by=actor.name)
        session.add(mapping)
    else:
        mapping.team, mapping.updated_by, mapping.updated_at = team, actor.name, utcnow()
    teamless = session.exec(
        select(Incident).where(col(Incident.system) == system, col(Incident.team).is_(None))
    ).all()
    for incident in teamless:
        incident.team = team
        audit.record(
            session,
            incident_id=incident.id,
            actor=actor.name,
            action="update",
            field="team",
            new=team,
            reason=f"system {system} mapped to team {team}",
        )
    session.flush()
    return mapping, len(teamless)


def unmap_system(session: Session, system: str) -> None:
    """Remove the system's mapping; incidents keep the team they were given."""
    session.delete(get_mapping(session, system))
    session.flush()


def team_for_new_system(session: Session, incident: Incident, new_system: str | None) -> str | None:
    """The team an incident moving to `new_system` should take, or None to leave its team be:
    the new system's team, when the incident has no team or has the old system's. A team a
    person chose stays, and so does any team when the new system has none."""
    new_team = team_of(session, new_system)
    if new_team is None or new_team == incident.team:
        return None
    if incident.team is None or incident.team == team_of(session, incident.system):
        return new_team
    return None
