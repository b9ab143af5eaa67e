"""The grade the policy would give a half-filled filing form, shown while on-call types.

Unreadable or missing numbers and times count as not given: the preview must never fail while a
field is half typed. Business impact is settled by the same rule as filing
(`incidents.service.has_business_impact`), so the preview and the filed grade agree.
"""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from api.web.forms import CHECKED, TRI_STATE
from incidents.grading import GradeResult, GradingPolicy, ImpactFacts
from incidents.service import has_business_impact
from incidents.timeparse import parse_time


def _whole(text: object) -> int | None:
    try:
        value = int(str(text or "").strip())
    except ValueError:
        return None
    return value if value >= 0 else None


def _amount(text: object) -> Decimal | None:
    try:
        value = Decimal(str(text or "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


def _moment(text: object, tz: ZoneInfo) -> datetime | None:
    if not str(text or "").strip():
        return None
    try:
        return parse_time(str(text), tz=tz, reference=datetime.now(tz))
    except ValueError:
        return None


def _flag(value: object) -> bool:
    return value is True or str(value or "").lower() in CHECKED


def preview_grade(policy: GradingPolicy, values: Mapping[str, object], tz: ZoneInfo) -> GradeResult:
    numbers = {
        "failed_orders": _whole(values.get("failed_orders")),
        "failed_transactions": _whole(values.get("failed_transactions")),
        "impact_minutes": _whole(values.get("impact_minutes")),
        "amount_cny": _amount(values.get("amount_cny")),
    }
    regulatory = _flag(values.get("regulatory"))
    explicit = TRI_STATE.get(str(values.get("business_impact") or ""))
    detected = _moment(values.get("detected_at"), tz)
    facts = ImpactFacts(
        business_impact=has_business_impact(explicit, numbers, regulatory),
        core_system=_flag(values.get("core_system")),
        regulatory=regulatory,
        occurred_at=_moment(values.get("occurred_at"), tz) or detected,
        recovered_at=_moment(values.get("recovered_at"), tz),
        **numbers,
    )
    return policy.evaluate(facts)
