"""Small builders for test data: one place that knows what a realistic record looks like."""

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from incidents.actors import Actor
from incidents.calendar import DEFAULT_CALENDAR, Calendar
from incidents.grading import GradingPolicy, load_policy
from incidents.models import Incident, IncidentCreate, Role
from incidents.service import create_incident


def seed_pos_incident(**overrides: Any) -> dict[str, Any]:
    """The seed report's 8/31 event: 545 failed POS payment orders, reported in the 9/9 week."""
    fields: dict[str, Any] = {
        "title": "中信存管POS入金到账通知付款方变动，履约POS付款单失败",
        "system": "中信存管",
        "detected_at": "2023-08-31 10:19",
        "detection": "monitoring",
        "source": "监控",
        "description": (
            "中信存管pos入金银行到账通知中付款方账户名和账号变动，系统判断为网银到账，并处理失败"
        ),
        "impact": "引起9月7日履约pos付款单共545笔失败",
        "failed_orders": 545,
        "remediation": "紧急上线后问题解决",
        "report_week": "2023-09-09",
    }
    fields.update(overrides)
    return fields


def cli_args(fields: dict[str, Any]) -> list[str]:
    """The same fields as `stabilog incident file` flags."""
    args = ["incident", "file"]
    for name, value in fields.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is False:
            args.append(flag.replace("--", "--no-", 1))
        else:
            args.extend([flag, str(value)])
    return args


def file_incident(client: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """The seed event (with `overrides`) filed through the API; its answer."""
    response = client.post(
        "/api/v1/incidents", json=seed_pos_incident(**overrides), headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def count(session: Session, model: Any) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


FILER = Actor("oncall-user", Role.oncall)


def file_in_domain(
    session: Session,
    *,
    actor: Actor = FILER,
    policy: GradingPolicy | None = None,
    calendar: Calendar = DEFAULT_CALENDAR,
    **fields: Any,
) -> Incident:
    """An incident filed through the domain function and committed, as a request would."""
    incident = create_incident(
        session,
        IncidentCreate.model_validate(fields),
        actor=actor,
        policy=policy or load_policy(None),
        calendar=calendar,
    )
    session.commit()
    return incident
