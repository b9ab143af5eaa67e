"""Who is acting: a token's name and role, the CLI's operating-system user, or a rule of ours."""

from dataclasses import dataclass

from incidents.models import Role

# The rule that promotes alerts by itself (incidents/alerts/service.py): its name in linked_by
# and the audit trail.
AUTO_PROMOTER = "auto-promote"
# The minute job that raises a grade when time alone says so (incidents/service.py).
ESCALATION = "escalation"
# Names our own rules act under. What a rule does is no person responding: its links are not a
# follow-up (the follow-up rate measures people answering alerts, which a rule cannot do for
# them) and its timeline entries do not acknowledge (响应) an incident.
RULES = frozenset({AUTO_PROMOTER, ESCALATION})


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role

    @property
    def is_person(self) -> bool:
        return self.name not in RULES
