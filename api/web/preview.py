"""The grade the policy would give a half-filled filing form, shown while on-call types.

Each field is read as filing reads it (by the incident models' own validators: the same times,
counts and amounts), and a field not readable yet counts as not given, so the preview never fails
while a field is half typed. The facts are built by `incidents.impact.facts_from`, as filing
builds them, so the preview and the filed grade agree.
"""

from collections.abc import Mapping

from pydantic import ValidationError

from incidents.calendar import Calendar
from incidents.db import utcnow
from incidents.grading import GradeResult, GradingPolicy
from incidents.impact import GRADED_INPUT_FIELDS, circumstances, facts_from
from incidents.models import IncidentUpdate


def _readable(name: str, value: object) -> object:
    """The value filing would store for field `name`, or None while it is not readable."""
    if value is None:
        return None
    try:
        return getattr(IncidentUpdate.model_validate({name: value}), name)
    except ValidationError:
        return None


def preview_grade(
    policy: GradingPolicy, values: Mapping[str, object], calendar: Calendar
) -> GradeResult:
    """`values` as the filing form hands them to IncidentCreate: text, checkboxes as bools, and
    an unanswered business impact left out. Judged as of now, as filing judges it."""
    readable = {name: _readable(name, values.get(name)) for name in GRADED_INPUT_FIELDS}
    return policy.evaluate(facts_from(readable), circumstances(readable, calendar, utcnow()))
