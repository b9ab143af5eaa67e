"""What an incident's impact is, as the grading policy sees it: the facts, built from plain values.

Filing, editing, the filing form's preview and `stabilog grading explain` all build their
`ImpactFacts` here, so the same values get the same grade everywhere — above all when no
quantity is given, which is no business impact unless someone says otherwise.
"""

from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from incidents.calendar import Calendar
from incidents.grading import Circumstances, ImpactFacts, net_loss
from incidents.models import IncidentStatus

# The values a grade depends on: changing one of them can change it.
FACT_FIELDS = tuple(field.name for field in fields(ImpactFacts))
# The quantities whose being above zero means business was hit (and a net loss, below).
QUANTIFIED_IMPACT_FIELDS = (
    "failed_orders",
    "failed_transactions",
    "amount_involved_cny",
    "impact_minutes",
)
# What a form must send to see the grade its values would get: detected_at stands in for a
# missing occurred_at; status and mitigated_at say whether it is still down.
GRADED_INPUT_FIELDS = (*FACT_FIELDS, "detected_at", "status", "mitigated_at")


def has_business_impact(values: Mapping[str, Any]) -> bool:
    """An explicit `business_impact` (True or False) wins; when it is missing or None, any failed
    order or transaction, amount involved, impact minute, net loss or ticked regulatory trigger
    means business was hit. An on-call who writes "545 failed orders" but forgets the flag still
    has an incident; one who gives no quantity and no answer has a stability event without
    business impact. (A regulatory trigger grades A even against an explicit no: the regulator
    decides what must be reported, not the flag.)"""
    explicit = values.get("business_impact")
    if explicit is not None:
        return bool(explicit)
    lost = net_loss(values.get("loss_cny"), values.get("recovered_cny"))
    return (
        bool(values.get("regulatory_triggers"))
        or (lost or 0) > 0
        or any((values.get(name) or 0) > 0 for name in QUANTIFIED_IMPACT_FIELDS)
    )


def facts_from(values: Mapping[str, Any]) -> ImpactFacts:
    """The facts of typed values (ints, Decimal, aware datetimes, bools; a missing name is None)
    — an incident's columns, a form's readable fields or the CLI's options."""
    known: dict[str, Any] = {name: values.get(name) for name in FACT_FIELDS}
    known["business_impact"] = has_business_impact(values)
    known["core_system"] = bool(values.get("core_system"))
    known["regulatory_triggers"] = frozenset(values.get("regulatory_triggers") or ())
    # As filing stores it: an incident began no later than it was detected.
    known["occurred_at"] = values.get("occurred_at") or values.get("detected_at")
    return ImpactFacts(**known)


# How long after detection an open incident counts as still down. One open for longer is a
# record nobody closed rather than an outage still running (and after an upgrade, or when last
# month's incident is filed today, it must not turn A for "weeks down"): it is judged on the
# facts recorded, and its time down counts once a recovery time is given.
ONGOING_FOR = timedelta(days=7)


def circumstances(values: Mapping[str, Any], calendar: Calendar, now: datetime) -> Circumstances:
    """An incident still open, neither recovered nor mitigated, and detected in the last week is
    judged as of `now`: its time down so far can escalate it or fire the interruption trigger.
    A missing status is open, as filing makes it."""
    detected = values.get("detected_at")
    ongoing = (
        values.get("status", IncidentStatus.open) == IncidentStatus.open
        and values.get("recovered_at") is None
        and values.get("mitigated_at") is None
        and detected is not None
        and now - detected <= ONGOING_FOR
    )
    return Circumstances(as_of=now if ongoing else None, tz=calendar.tz)
