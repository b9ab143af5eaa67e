"""Who is acting: a token's name and role, the CLI's operating-system user, or a rule of ours."""

from dataclasses import dataclass

from incidents.models import Role


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role
