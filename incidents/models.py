"""Tables and their Create / Update / Public shapes, one family per concept (see STYLE.md)."""

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Optional

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, create_model, field_validator
from pydantic.fields import FieldInfo
from sqlalchemy import JSON, BigInteger, ColumnElement, Index, Numeric, String, Text, or_, text
from sqlmodel import Field, SQLModel, col
from sqlmodel._compat import SQLModelConfig  # model_config's type; sqlmodel exports it nowhere else

from incidents.calendar import Calendar, active_calendar
from incidents.db import UTCDateTime, utcnow
from incidents.timeparse import EARLIEST_YEAR, LATEST_YEAR, parse_time, to_local
from incidents.weeks import Week


def _read_moment(value: object, *, date_means_midnight: bool = False) -> object:
    """Accept ISO 8601 or the on-call shorthand, read in the team's zone relative to now."""
    tz = active_calendar().tz
    if isinstance(value, str):
        return parse_time(
            value, tz=tz, reference=datetime.now(tz), date_means_midnight=date_means_midnight
        )
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=tz)
    return value


def _show_moment(value: datetime) -> str:
    return to_local(value, active_calendar().tz).isoformat()


# A point in time: read leniently on input, stored in UTC, answered with the team's offset.
Moment = Annotated[
    datetime,
    BeforeValidator(_read_moment),
    PlainSerializer(_show_moment, return_type=str, when_used="json"),
]


def _read_query_moment(value: object) -> object:
    return _read_moment(value, date_means_midnight=True)


# An end of a query's time range: a Moment, or a bare date meaning its local 00:00. Bodies take
# Moment only: an incident filed at "2023-09-07" lost its clock by mistake, not on purpose.
QueryMoment = Annotated[
    datetime,
    BeforeValidator(_read_query_moment),
    PlainSerializer(_show_moment, return_type=str, when_used="json"),
]


def _one_line(value: object) -> object:
    if not isinstance(value, str):
        return value  # None, or a non-string the str check after this refuses with a 422
    if "\n" in value or "\r" in value:
        raise ValueError("must be a single line")
    return value.strip()


OneLine = Annotated[str, BeforeValidator(_one_line)]


def _in_supported_years(value: date) -> date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"year {value.year} is outside {EARLIEST_YEAR}–{LATEST_YEAR}")
    return value


# A date that names a report week: in the years a time may be given in, like parse_week's.
WeekDate = Annotated[date, AfterValidator(_in_supported_years)]

# Digits, grouped by "," or "_" if the writer likes (reports print 6,000,000), fen after a point.
_AMOUNT = re.compile(r"\d+(?:[,_]\d+)*(?:\.\d+)?", re.ASCII)


def parse_amount(text: str) -> Decimal:
    """Money in yuan as people type it: 6000000, 6,000,000, 6_000_000 or 1234.56, full-width
    (６，０００，０００) as Chinese input methods type it. The one reader of amounts: the API, the
    pages and the CLI all read them here. Raises ValueError naming the text otherwise."""
    folded = unicodedata.normalize("NFKC", text).strip()
    shown = repr(text if len(text) <= 40 else text[:40] + "…")
    if folded.startswith("-") and _AMOUNT.fullmatch(folded[1:]):
        raise ValueError(f"{shown} is not an amount in CNY: it must not be negative")
    if not _AMOUNT.fullmatch(folded):
        raise ValueError(
            f"{shown} is not an amount in CNY: expected digits such as 6000000, 6,000,000 or"
            " 1234.56"
        )
    return Decimal(folded.replace(",", "").replace("_", ""))


def _read_amount(value: object) -> object:
    # A JSON number is left to the Decimal checks after this, which refuse NaN and negatives.
    return parse_amount(value) if isinstance(value, str) else value


# An amount of money in yuan: text is read by parse_amount, numbers as they are.
Amount = Annotated[Decimal, BeforeValidator(_read_amount)]

SHORT = 200
LONG = 20_000
COUNT_MAX = 10**12


def moment_column(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class WriteModel(SQLModel):
    """A request body that is written: an unknown field is a 422 naming it, not silently dropped
    (a misspelt `remediaton`, or `grade`, which only POST /incidents/{id}/grade sets). Mixed into
    the input classes only; the shared bases also build the tables and the answers."""

    model_config = SQLModelConfig(extra="forbid")


def partial(model: type[SQLModel], name: str) -> type[SQLModel]:
    """The all-optional twin of `model` for PATCH, keeping every field's constraints."""
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        optional = FieldInfo.merge_field_infos(info, default=None)
        fields[field_name] = (Optional[info.annotation], optional)  # noqa: UP045 (a runtime type)
    return create_model(name, __base__=WriteModel, **fields)


class Detection(StrEnum):
    monitoring = "monitoring"
    alert = "alert"
    manual = "manual"
    user_report = "user_report"
    external = "external"


class IncidentStatus(StrEnum):
    open = "open"
    mitigated = "mitigated"
    resolved = "resolved"
    closed = "closed"


class Grade(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class IncidentBase(SQLModel):
    title: OneLine = Field(min_length=1, max_length=SHORT)
    system: str | None = Field(default=None, max_length=100, index=True)
    occurred_at: Moment | None = moment_column()
    detected_at: Moment = moment_column(nullable=False, index=True)
    recovered_at: Moment | None = moment_column()
    resolved_at: Moment | None = moment_column()
    detection: Detection | None = Field(default=None, sa_type=String(20))
    source: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    impact: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    business_impact: bool | None = None
    failed_orders: int | None = Field(default=None, ge=0, le=COUNT_MAX, sa_type=BigInteger)
    failed_transactions: int | None = Field(default=None, ge=0, le=COUNT_MAX, sa_type=BigInteger)
    affected_users: int | None = Field(default=None, ge=0, le=COUNT_MAX, sa_type=BigInteger)
    impact_minutes: int | None = Field(default=None, ge=0, le=10_000_000)
    amount_cny: Amount | None = Field(
        default=None, ge=0, max_digits=16, decimal_places=2, sa_type=Numeric(16, 2)
    )
    core_system: bool = False
    regulatory: bool = False
    remediation: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    root_cause: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    # Indexed by ix_incident_report_week (partial, see Incident): most incidents have none.
    report_week: WeekDate | None = None
    status: IncidentStatus = Field(default=IncidentStatus.open, sa_type=String(20))
    owner: str | None = Field(default=None, max_length=100)


class Incident(IncidentBase, table=True):
    # Partial: a full index holds every NULL, and SQLite then plans a week's membership test
    # (report_week IS NULL AND detected_at in the week) as a walk over all of them.
    __table_args__ = (
        Index(
            "ix_incident_report_week",
            "report_week",
            sqlite_where=text("report_week IS NOT NULL"),
            postgresql_where=text("report_week IS NOT NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    # business_impact is settled by the domain on every write, so the stored value is never null.
    business_impact: bool = False
    grade: Grade | None = Field(default=None, sa_type=String(1), index=True)
    grade_reason: str | None = Field(default=None, max_length=1000)
    grade_overridden: bool = False
    # Set by the importer when the text left business impact unclear: ungraded until a person
    # decides, and listed for review.
    needs_review: bool = False
    # The imported report item this incident came from, so importing a report twice is a no-op.
    import_fingerprint: str | None = Field(default=None, max_length=64, unique=True)
    created_by: str = Field(max_length=SHORT)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

    @classmethod
    def in_week(cls, week: Week, calendar: Calendar) -> ColumnElement[bool]:
        """`Calendar.report_week_of` as a query: detected in the week, unless `report_week`
        names another (it then wins)."""
        start, end = calendar.window(week)
        detected_at, report_week = col(cls.detected_at), col(cls.report_week)
        return or_(
            report_week.is_(None) & (detected_at >= start) & (detected_at < end),
            report_week.between(week.monday, week.sunday),
        )


class IncidentCreate(IncidentBase, WriteModel):
    # Required on input: without 发现时间 an incident cannot be stored (the column is NOT NULL).
    detected_at: Moment


if TYPE_CHECKING:  # the type checker cannot follow create_model; the fields are the same

    class IncidentUpdate(IncidentBase, WriteModel): ...
else:
    IncidentUpdate = partial(IncidentBase, "IncidentUpdate")


class IncidentPublic(IncidentBase):
    id: int
    business_impact: bool
    grade: Grade | None
    grade_reason: str | None
    grade_overridden: bool
    needs_review: bool
    created_by: str
    created_at: Moment
    updated_at: Moment


class TimelineEntryBase(SQLModel):
    at: Moment = moment_column(nullable=False)
    text: str = Field(min_length=1, max_length=2000, sa_type=Text)
    key_event: bool = False


class TimelineEntry(TimelineEntryBase, table=True):
    __tablename__ = "timeline_entry"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    author: str = Field(max_length=SHORT)


class TimelineEntryCreate(TimelineEntryBase, WriteModel):
    at: Moment  # required on input, like IncidentCreate.detected_at


class TimelineEntryPublic(TimelineEntryBase):
    id: int
    incident_id: int
    author: str


class RootCauseCategory(StrEnum):
    change = "change"
    capacity = "capacity"
    dependency = "dependency"  # bank channels and other upstreams
    data = "data"
    config = "config"
    network_hardware = "network_hardware"
    security = "security"
    third_party = "third_party"


class PostmortemStatus(StrEnum):
    draft = "draft"
    in_review = "in_review"
    published = "published"


class PostmortemBase(SQLModel):
    summary: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    impact: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    trigger: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    direct_cause: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    root_cause: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    five_whys: list[str] = Field(default_factory=list, sa_type=JSON, max_length=20)
    root_cause_category: RootCauseCategory | None = Field(default=None, sa_type=String(30))
    went_well: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    went_wrong: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    got_lucky: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    status: PostmortemStatus = Field(default=PostmortemStatus.draft, sa_type=String(20))
    reviewers: list[str] = Field(default_factory=list, sa_type=JSON, max_length=50)
    due_date: date | None = None

    @field_validator("five_whys", "reviewers")
    @classmethod
    def _short_entries(cls, entries: list[str]) -> list[str]:
        if any(len(entry) > 2000 for entry in entries):
            raise ValueError("each entry must be at most 2000 characters")
        return entries


class Postmortem(PostmortemBase, table=True):
    incident_id: int = Field(foreign_key="incident.id", primary_key=True, ondelete="CASCADE")
    published_at: datetime | None = moment_column()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class PostmortemWrite(PostmortemBase, WriteModel):
    pass


class PostmortemPublic(PostmortemBase):
    incident_id: int
    published_at: Moment | None
    updated_at: Moment


class ActionItemType(StrEnum):
    prevent = "prevent"
    detect = "detect"
    mitigate = "mitigate"
    process = "process"


class ActionItemStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    done = "done"
    not_doing = "not_doing"


CLOSED_ACTION_STATUSES = (ActionItemStatus.done, ActionItemStatus.not_doing)


class ActionItemBase(SQLModel):
    title: OneLine = Field(min_length=1, max_length=SHORT)
    type: ActionItemType = Field(default=ActionItemType.prevent, sa_type=String(20))
    owner: str = Field(min_length=1, max_length=100)
    due_date: date = Field(index=True)
    status: ActionItemStatus = Field(default=ActionItemStatus.open, sa_type=String(20))
    not_doing_reason: str | None = Field(default=None, max_length=2000)


class ActionItem(ActionItemBase, table=True):
    __tablename__ = "action_item"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    closed_at: datetime | None = moment_column()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ActionItemCreate(ActionItemBase, WriteModel):
    pass


if TYPE_CHECKING:

    class ActionItemUpdate(ActionItemBase, WriteModel): ...
else:
    ActionItemUpdate = partial(ActionItemBase, "ActionItemUpdate")


class ActionItemPublic(ActionItemBase):
    id: int
    incident_id: int
    closed_at: Moment | None
    created_at: Moment


class AuditEntry(SQLModel, table=True):
    """One change to an incident or what hangs off it; written in the transaction of the change."""

    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor: str = Field(max_length=SHORT)
    action: str = Field(max_length=40)
    field: str | None = Field(default=None, max_length=100)
    old_value: str | None = Field(default=None, sa_type=Text)
    new_value: str | None = Field(default=None, sa_type=Text)
    reason: str | None = Field(default=None, max_length=2000)


class AuditEntryPublic(SQLModel):
    id: int
    incident_id: int
    at: Moment
    actor: str
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None


class WeeklyFigure(SQLModel, table=True):
    """A weekly number Stabilog cannot measure (支付成功率, 健康分 …), entered by a person."""

    __tablename__ = "weekly_figure"
    week_monday: date = Field(primary_key=True)
    name: str = Field(primary_key=True, max_length=50)
    value: Decimal = Field(max_digits=14, decimal_places=4, sa_type=Numeric(14, 4))
    updated_by: str = Field(max_length=SHORT)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Role(StrEnum):
    viewer = "viewer"
    oncall = "oncall"
    admin = "admin"

    def at_least(self, other: "Role") -> bool:
        """Whether this role may do what `other` may: each role includes the ones listed before
        it. The one ordering of roles: every check of the API and the pages asks it."""
        members = list(Role)
        return members.index(self) >= members.index(other)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    role: Role = Field(sa_type=String(20))
    # Only a digest is kept: a leaked database must not hand out working tokens.
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = moment_column()


class ApiTokenCreate(WriteModel):
    name: OneLine = Field(min_length=1, max_length=100)
    role: Role


class ApiTokenPublic(SQLModel):
    id: int
    name: str
    role: Role
    created_at: Moment
    revoked_at: Moment | None
