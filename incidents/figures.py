"""Weekly figures Stabilog cannot measure (支付成功率, 健康分 …), entered each week by a person."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import create_model
from pydantic.fields import FieldInfo
from sqlmodel import Session, select

from incidents.db import utcnow
from incidents.errors import Invalid
from incidents.models import WeeklyFigure, WriteModel
from incidents.weeks import Week


@dataclass(frozen=True)
class FigureKind:
    name: str
    zh: str
    en: str
    unit: str  # "%" for rates; "" for scores and ranks
    higher_is_better: bool = True
    # Listed under 支付成功率; the year's availability stands in the availability lines instead.
    listed: bool = True


FIGURES = {
    kind.name: kind
    for kind in (
        FigureKind("deposit_success_rate", "入金有效成功率", "Deposit success rate", "%"),
        FigureKind("payout_success_rate", "出金有效成功率", "Payout success rate", "%"),
        FigureKind("first_pay_success_rate", "一次支付成功率", "First-attempt success rate", "%"),
        FigureKind("health_score", "健康分", "Health score", ""),
        FigureKind("health_rank", "中心排名", "Rank among centres", "", higher_is_better=False),
        # As the team reported it: an imported week's events seldom carry every minute, so the
        # stated figure wins over the one computed from them (report.py).
        FigureKind(
            "year_availability",
            "支付系统年度可用性",
            "Payment system availability, year to date",
            "%",
            listed=False,
        ),
    )
}


def _figure_field(kind: FigureKind) -> FieldInfo:
    """Optional, with the digits the column keeps (WeeklyFigure.value)."""
    unit = " in percent" if kind.unit == "%" else ""
    return FieldInfo.merge_field_infos(
        WeeklyFigure.model_fields["value"], default=None, description=f"{kind.zh}: {kind.en}{unit}"
    )


_FIGURE_FIELDS: dict[str, Any] = {
    name: (Decimal | None, _figure_field(kind)) for name, kind in FIGURES.items()
}
# Any of a week's figures, one optional field per FIGURES entry: the API's body and the CLI's
# options both come from here. An unknown name is refused: a misspelt figure must not vanish.
FigureValues = create_model(
    "FigureValues",
    __base__=WriteModel,
    __doc__="Any of the week's figures; rates in percent (99.998).",
    **_FIGURE_FIELDS,
)


def set_figures(
    session: Session, week: Week, values: dict[str, Decimal], *, actor_name: str
) -> dict[str, Decimal]:
    """Set (or replace) some of a week's figures in one transaction; returns all of the week's."""
    for name, value in values.items():
        kind = FIGURES.get(name)
        if kind is None:
            raise Invalid(name, code="unknown_figure", params={"known": ", ".join(FIGURES)})
        if kind.unit == "%" and not Decimal(0) <= value <= Decimal(100):
            raise Invalid(name, code="percent_range")
        if value < 0:
            raise Invalid(name, code="not_negative")
        row = session.get(WeeklyFigure, (week.monday, name))
        if row is None:
            row = WeeklyFigure(week_monday=week.monday, name=name, value=value, updated_by="")
            session.add(row)
        row.value, row.updated_by, row.updated_at = value, actor_name, utcnow()
    session.flush()
    return figures_of(session, week)


def figures_of(session: Session, week: Week) -> dict[str, Decimal]:
    rows = session.exec(select(WeeklyFigure).where(WeeklyFigure.week_monday == week.monday))
    return {row.name: row.value for row in rows}
