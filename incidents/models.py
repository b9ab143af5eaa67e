"""Tables and their Create / Update / Public shapes, one family per concept (see STYLE.md)."""

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Optional, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    ValidationError,
    computed_field,
    create_model,
    field_validator,
    model_validator,
)
from pydantic import Field as PydanticField
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails, PydanticCustomError
from sqlalchemy import JSON, BigInteger, ColumnElement, Index, Numeric, String, Text, or_, text
from sqlmodel import Field, SQLModel, col
from sqlmodel._compat import SQLModelConfig  # model_config's type; sqlmodel exports it nowhere else

from incidents.calendar import Calendar, active_calendar
from incidents.db import UTCDateTime, utcnow
from incidents.grading import GradingPolicy, net_loss
from incidents.milestones import Milestone, OneFiveTen, one_five_ten, stage_minutes
from incidents.timeparse import EARLIEST_YEAR, LATEST_YEAR, parse_time, to_local
from incidents.weeks import Week


def _read_moment(
    value: object, *, date_means_midnight: bool = False, recent_past: bool = False
) -> object:
    """Accept ISO 8601 or the on-call shorthand, read in the team's zone relative to now."""
    tz = active_calendar().tz
    if isinstance(value, str):
        return parse_time(
            value,
            tz=tz,
            reference=datetime.now(tz),
            date_means_midnight=date_means_midnight,
            recent_past=recent_past,
        )
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=tz)
    return value


def _show_moment(value: datetime | None) -> str | None:
    # None only reaches here when the API document shows a field's default.
    return None if value is None else to_local(value, active_calendar().tz).isoformat()


# A point in time: read leniently on input, stored in UTC, answered with the team's offset.
Moment = Annotated[
    datetime,
    BeforeValidator(_read_moment),
    PlainSerializer(_show_moment, return_type=str, when_used="json"),
]


def _read_incident_moment(value: object) -> object:
    return _read_moment(value, recent_past=True)


# A time of an incident, which has happened: a clock typed without its day is the most recent
# such moment ("14:42" typed at 13:45 is yesterday's), not a time still to come.
IncidentMoment = Annotated[
    datetime,
    BeforeValidator(_read_incident_moment),
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


def _show_amount(value: Decimal) -> str:
    return f"{value:.2f}"


# An amount of money in yuan: text is read by parse_amount, numbers as they are; answered as text
# with its fen ("12345.00"), so an answer reads the same whether it came from input or the table.
Amount = Annotated[
    Decimal,
    BeforeValidator(_read_amount),
    PlainSerializer(_show_amount, return_type=str, when_used="json"),
]
AMOUNT_LIMITS: dict[str, Any] = {"ge": 0, "max_digits": 16, "decimal_places": 2}


def money_column(description: str) -> Any:
    return Field(default=None, description=description, sa_type=Numeric(16, 2), **AMOUNT_LIMITS)


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


def partial(
    model: type[SQLModel], name: str, base: type[WriteModel] = WriteModel
) -> type[SQLModel]:
    """The all-optional twin of `model` for PATCH, keeping every field's constraints, on `base`
    (a WriteModel, with any fields and checks of its own)."""
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        # Without its default_factory too: pydantic refuses a field with both defaults.
        optional = FieldInfo.merge_field_infos(info, default=None, default_factory=None)
        fields[field_name] = (Optional[info.annotation], optional)  # noqa: UP045 (a runtime type)
    return create_model(name, __base__=base, **fields)


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


TRIGGERS_HELP = "regulatory triggers ticked by a person, by name (see the grading policy)"
REGULATORY_HELP = (
    "deprecated, removed in 0.3: true ticks the trigger other_major_event; answered: whether any"
    " regulatory trigger fired"
)
# What the deprecated `regulatory: true` of 0.1 means now.
LEGACY_REGULATORY_TRIGGER = "other_major_event"


class IncidentBase(SQLModel):
    title: OneLine = Field(min_length=1, max_length=SHORT)
    system: str | None = Field(default=None, max_length=100, index=True)
    occurred_at: IncidentMoment | None = moment_column()
    # Indexed with the columns a period's figures read: ix_incident_detected_figures below.
    detected_at: IncidentMoment = moment_column(nullable=False)
    # The milestones between (incidents/milestones.py holds their order): 响应, 定位, 止损开始,
    # 止损生效.
    acknowledged_at: IncidentMoment | None = moment_column()
    located_at: IncidentMoment | None = moment_column()
    mitigation_started_at: IncidentMoment | None = moment_column()
    mitigated_at: IncidentMoment | None = moment_column()
    recovered_at: IncidentMoment | None = moment_column()
    resolved_at: IncidentMoment | None = moment_column()
    detection: Detection | None = Field(default=None, sa_type=String(20))
    source: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    impact: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    business_impact: bool | None = None
    failed_orders: int | None = Field(default=None, ge=0, le=COUNT_MAX, sa_type=BigInteger)
    failed_transactions: int | None = Field(default=None, ge=0, le=COUNT_MAX, sa_type=BigInteger)
    affected_users: int | None = Field(default=None, ge=0, le=COUNT_MAX, sa_type=BigInteger)
    impact_minutes: int | None = Field(default=None, ge=0, le=10_000_000)
    amount_involved_cny: Amount | None = money_column(
        "涉及金额: money the incident put at risk, in yuan (was amount_cny)"
    )
    loss_cny: Amount | None = money_column("资损: money actually lost, in yuan")
    recovered_cny: Amount | None = money_column(
        "追回: money of the loss recovered since, in yuan; at most loss_cny"
    )
    core_system: bool = False
    # Regulatory triggers a person ticked (the policy's names); the ones the facts cross fire by
    # themselves. Any trigger grades A and starts the regulator's clock.
    regulatory_triggers: list[str] = Field(
        default_factory=list, sa_type=JSON, max_length=20, description=TRIGGERS_HELP
    )
    # Deprecated in 0.2 (removed in 0.3): true ticks the trigger other_major_event.
    regulatory: bool | None = Field(default=None, description=REGULATORY_HELP)
    remediation: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    root_cause: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    # Indexed by ix_incident_report_week (partial, see Incident): most incidents have none.
    report_week: WeekDate | None = None
    status: IncidentStatus = Field(default=IncidentStatus.open, sa_type=String(20))
    owner: str | None = Field(default=None, max_length=100)
    # 责任团队: whose 故障积分 the incident counts in. Filed without one, it takes its system's team
    # (incidents/teams.py), stored, so a mapping changed later leaves past incidents' teams be.
    team: OneLine | None = Field(default=None, max_length=100, index=True, description="责任团队")


FIGURE_COLUMNS = (
    "detected_at",
    "grade",
    "system",
    "team",
    "detection",
    "business_impact",
    "impact_minutes",
    "occurred_at",
    "located_at",
    "recovered_at",
)


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
        # A system's latest incidents for the similar-incident panel (incidents/similar.py):
        # without it, every query sorts all of the system's incidents by time.
        Index("ix_incident_system_detected_at", "system", "detected_at"),
        # The incidents detected in a window, with what a period review's figures read of each
        # (grades, systems, teams, detection, impact, the 1-5-10 milestones): a year's review
        # reads index entries, not 100,000 whole rows, several times (bench/README.md). Paid
        # on each write of an incident, which people make, not machines.
        Index(
            "ix_incident_detected_figures",
            *FIGURE_COLUMNS,
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    # business_impact is settled by the domain on every write, so the stored value is never null.
    business_impact: bool = False
    # Whether any regulatory trigger fired (ticked or by the facts), as of the last grading.
    regulatory: bool = False
    grade: Grade | None = Field(default=None, sa_type=String(1), index=True)
    grade_reason: str | None = Field(default=None, max_length=1000)  # the hits' English
    # The rules that fired as data (incidents.grading.Hit), worded per language by
    # incidents.messages; None on rows graded before they were stored: grade_reason tells.
    grade_hits: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
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


AMOUNT_CNY_DEPRECATED = "deprecated, removed in 0.3: the old name of amount_involved_cny"


class AmountCnyAlias(WriteModel):
    """`amount_cny`, the name of amount_involved_cny until 0.2, still read on input for one
    release: its value moves to amount_involved_cny; both given and different is a 422 naming
    amount_cny. A field of its own (not a validation alias) so the API document lists it as
    deprecated, and never dumped, so no write sees it."""

    if TYPE_CHECKING:
        amount_involved_cny: Decimal | None

    amount_cny: Amount | None = PydanticField(
        default=None,
        description=AMOUNT_CNY_DEPRECATED,
        exclude=True,
        json_schema_extra={"deprecated": True},
        **AMOUNT_LIMITS,
    )

    @model_validator(mode="after")
    def _read_old_amount_name(self) -> Self:
        if "amount_cny" not in self.model_fields_set:
            return self
        if (
            "amount_involved_cny" in self.model_fields_set
            and self.amount_involved_cny != self.amount_cny
        ):
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "value_error", "differs from amount_involved_cny, its new name"
                        ),
                        loc=("amount_cny",),
                        input=self.amount_cny,
                    )
                ],
            )
        self.amount_involved_cny = self.amount_cny
        return self


class IncidentCreate(IncidentBase, AmountCnyAlias):
    # Required on input: without 发现时间 an incident cannot be stored (the column is NOT NULL).
    detected_at: IncidentMoment
    # Not stored: a time more than timeparse.CLOCK_SLACK ahead of now is refused unless this says
    # it is meant (a typo in the date is likelier than an incident logged before it happens).
    confirm_future: bool = Field(
        default=False, description="file even though a time is in the future", exclude=True
    )


if TYPE_CHECKING:  # the type checker cannot follow create_model; the fields are the same

    class IncidentUpdate(IncidentBase, AmountCnyAlias): ...
else:
    IncidentUpdate = partial(IncidentBase, "IncidentUpdate", base=AmountCnyAlias)


class IncidentPublic(IncidentBase):
    id: int
    business_impact: bool
    regulatory: bool = Field(description=REGULATORY_HELP)
    grade: Grade | None
    grade_reason: str | None
    grade_hits: list[dict[str, Any]] | None = Field(
        description="the grading rules that fired, as data: rule, value, limit, grade (see"
        " docs/messages.md); null for incidents graded before they were stored"
    )
    grade_overridden: bool
    needs_review: bool
    created_by: str
    created_at: Moment
    updated_at: Moment
    # Derived with the policy's 1-5-10 targets: build answers with IncidentPublic.of.
    milestone_minutes: dict[str, float | None] = Field(
        description="minutes to detect (from occurrence), and to acknowledge, locate, mitigate"
        " and recover (from detection); null where a time is missing"
    )
    one_five_ten: OneFiveTen = Field(
        description="the policy's 1-5-10 targets: met, missed:<first missed step> or unknown"
    )

    @classmethod
    def of(cls, incident: "Incident", policy: GradingPolicy) -> "IncidentPublic":
        return cls.model_validate(
            incident,
            update={
                "milestone_minutes": stage_minutes(incident),
                "one_five_ten": one_five_ten(incident, policy.targets),
            },
        )

    @computed_field(description="资损 less 追回, never below 0; null while loss_cny is")  # type: ignore[prop-decorator]
    @property
    def net_loss_cny(self) -> Amount | None:
        return net_loss(self.loss_cny, self.recovered_cny)

    @computed_field(  # type: ignore[prop-decorator]
        description=AMOUNT_CNY_DEPRECATED, json_schema_extra={"deprecated": True}
    )
    @property
    def amount_cny(self) -> Amount | None:
        return self.amount_involved_cny


class TimelineEntryBase(SQLModel):
    at: IncidentMoment = moment_column(nullable=False)
    text: str = Field(min_length=1, max_length=2000, sa_type=Text)
    key_event: bool = False
    # The incident's milestone this entry marks: adding the entry sets it to `at`.
    milestone: Milestone | None = Field(default=None, sa_type=String(30))


class TimelineEntry(TimelineEntryBase, table=True):
    __tablename__ = "timeline_entry"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    author: str = Field(max_length=SHORT)


class TimelineEntryCreate(TimelineEntryBase, WriteModel):
    at: IncidentMoment  # required on input, like IncidentCreate.detected_at


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
    """待复盘 → 复盘中 → 已复盘, moved only by the actions of incidents/postmortems.py."""

    draft = "draft"
    in_review = "in_review"
    published = "published"


class DetectionChannel(StrEnum):
    """How the problem was found (发现渠道), as the 复盘 records it."""

    monitoring = "monitoring"  # 监控告警
    user_report = "user_report"  # 用户反馈、客诉
    inspection = "inspection"  # 巡检
    staff = "staff"  # 内部人员发现
    external = "external"  # 银行、合作方或监管通知
    other = "other"


# The 复盘's channel when nobody chose one: read from how the incident was filed as detected.
DETECTION_CHANNELS = {
    Detection.monitoring: DetectionChannel.monitoring,
    Detection.alert: DetectionChannel.monitoring,
    Detection.manual: DetectionChannel.staff,
    Detection.user_report: DetectionChannel.user_report,
    Detection.external: DetectionChannel.external,
}


class RecoveryMethod(StrEnum):
    """How the business was restored (恢复方式)."""

    rollback = "rollback"  # 回滚
    switchover = "switchover"  # 切换
    scale_out = "scale_out"  # 扩容
    restart = "restart"  # 重启
    fix = "fix"  # 修复
    self_recovered = "self_recovered"  # 自然恢复
    other = "other"


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
    lessons_learned: str | None = Field(default=None, max_length=LONG, sa_type=Text)
    owner: str | None = Field(default=None, max_length=100, description="复盘负责人")
    responsible_team: str | None = Field(default=None, max_length=100, description="责任团队")
    detection_channel: DetectionChannel | None = Field(
        default=None,
        sa_type=String(20),
        description="发现渠道; when not given, read from the incident's detection",
    )
    recovery_method: RecoveryMethod | None = Field(default=None, sa_type=String(20))
    related_change: str | None = Field(
        default=None, max_length=500, description="the change that caused it: an id or a link"
    )
    staged_rollout_should_have_caught: bool | None = Field(
        default=None, description="whether a staged rollout (灰度) should have caught it"
    )
    no_action_reason: str | None = Field(
        default=None,
        max_length=2000,
        sa_type=Text,
        description="why no action item is needed; publishing needs an action item or this",
    )
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
    status: PostmortemStatus = Field(default=PostmortemStatus.draft, sa_type=String(20))
    published_at: datetime | None = moment_column()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


POSTMORTEM_STATUS_HELP = (
    "unchanged when omitted or equal; it moves only through POST …/postmortem/submit, /review"
    " and /publish"
)


class PostmortemWrite(PostmortemBase, WriteModel):
    status: PostmortemStatus | None = Field(default=None, description=POSTMORTEM_STATUS_HELP)


class PostmortemPublic(PostmortemBase):
    incident_id: int
    status: PostmortemStatus
    published_at: Moment | None
    updated_at: Moment


class ReviewVerdict(StrEnum):
    approve = "approve"
    request_changes = "request_changes"


class PostmortemReviewBase(SQLModel):
    verdict: ReviewVerdict = Field(sa_type=String(20))
    comment: str | None = Field(default=None, max_length=2000, sa_type=Text)


class PostmortemReview(PostmortemReviewBase, table=True):
    """One reviewer's verdict on a 复盘; the latest of each reviewer counts for publishing."""

    __tablename__ = "postmortem_review"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="postmortem.incident_id", index=True, ondelete="CASCADE")
    reviewer: str = Field(max_length=SHORT)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class PostmortemReviewCreate(PostmortemReviewBase, WriteModel):
    pass


class PostmortemReviewPublic(PostmortemReviewBase):
    id: int
    incident_id: int
    reviewer: str
    at: Moment


class PostmortemPublish(WriteModel):
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="an admin's reason to publish although a named reviewer has not approved",
    )


class ActionItemType(StrEnum):
    prevent = "prevent"
    detect = "detect"
    mitigate = "mitigate"
    process = "process"


class ActionItemStatus(StrEnum):
    """open → in_progress → done (the owner's word) → verified (the verifier's 验收). Not doing is
    asked for by the owner with a reason (not_doing_requested) and granted by the verifier
    (not_doing); the verifier may send done work or the request back (in_progress). Moved only
    by the steps of incidents/action_items.py."""

    open = "open"
    in_progress = "in_progress"
    done = "done"
    verified = "verified"
    not_doing_requested = "not_doing_requested"
    not_doing = "not_doing"


# Closed for good, with closed_at: the work was accepted, or not doing it was agreed.
CLOSED_ACTION_STATUSES = (ActionItemStatus.verified, ActionItemStatus.not_doing)
# The owner's part is over; the verifier's turn.
AWAITING_VERIFIER = (ActionItemStatus.done, ActionItemStatus.not_doing_requested)

# A link needs no characters a URL must escape: no space, control character, quote or <>.
_TRACKER_URL = re.compile(r'https?://[^\s\x00-\x1f\x7f<>"/?#]+[^\s\x00-\x1f\x7f<>"]*', re.I)
_TRACKER_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-[0-9]+", re.ASCII)


def _tracker(value: str) -> str:
    if not (_TRACKER_URL.fullmatch(value) or _TRACKER_KEY.fullmatch(value)):
        raise ValueError("expected an http(s) link or an issue key such as PAY-123")
    return value


# Where the work is tracked (Jira, TAPD, 禅道 …), checked loosely: a link or an issue key.
Tracker = Annotated[str, BeforeValidator(_one_line), AfterValidator(_tracker)]
TRACKER_HELP = (
    "the item in the team's tracker (Jira, TAPD, 禅道): an http(s) link or a key like PAY-123"
)
VERIFIER_HELP = (
    "验收人: who checks the work and closes the item; defaults to the 复盘's owner, else the"
    " incident's owner"
)


class ActionItemBase(SQLModel):
    title: OneLine = Field(min_length=1, max_length=SHORT)
    type: ActionItemType = Field(default=ActionItemType.prevent, sa_type=String(20))
    owner: OneLine = Field(min_length=1, max_length=100)
    due_date: date = Field(index=True)
    acceptance_criteria: str | None = Field(
        default=None,
        max_length=2000,
        sa_type=Text,
        description="验收标准: what the verifier checks before closing the item",
    )
    # Nullable in the table: items older than verification may have nobody to default to, and
    # then only an admin verifies them. A new item always gets one (incidents/action_items.py).
    verifier: OneLine | None = Field(
        default=None, min_length=1, max_length=100, description=VERIFIER_HELP
    )
    tracker: Tracker | None = Field(default=None, max_length=500, description=TRACKER_HELP)


class ActionItem(ActionItemBase, table=True):
    __tablename__ = "action_item"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    status: ActionItemStatus = Field(default=ActionItemStatus.open, sa_type=String(20))
    not_doing_reason: str | None = Field(default=None, max_length=2000)
    # Set when the item closes (verified or not doing), as are who closed it and when.
    closed_at: datetime | None = moment_column()
    verified_at: datetime | None = moment_column()
    verified_by: str | None = Field(default=None, max_length=SHORT)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


ACTION_STEPS_HELP = (
    "moves only through POST /api/v1/action-items/{id}/start, /done, /not-doing (the owner) and"
    " /verify, /reject, /approve-not-doing (the verifier)"
)


class StatusByActions(WriteModel):
    """A body that may not set an item's status: named with the actions that move it, rather than
    the bare `extra_forbidden` of an unknown field."""

    @model_validator(mode="before")
    @classmethod
    def _status_moves_by_actions(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in ("status", "not_doing_reason"):
                if name in data:
                    raise ValidationError.from_exception_data(
                        cls.__name__,
                        [
                            InitErrorDetails(
                                type=PydanticCustomError(
                                    "value_error", f"{name} {ACTION_STEPS_HELP}"
                                ),
                                loc=(name,),
                                input=data[name],
                            )
                        ],
                    )
        return data


class ActionItemCreate(ActionItemBase, StatusByActions):
    pass


if TYPE_CHECKING:

    class ActionItemUpdate(ActionItemBase, StatusByActions): ...
else:
    ActionItemUpdate = partial(ActionItemBase, "ActionItemUpdate", base=StatusByActions)


class ActionItemNote(WriteModel):
    """The body of a step: a comment, required to reject (why) and to ask for not doing (the
    reason); optional otherwise."""

    comment: str | None = Field(default=None, max_length=2000)


class ActionItemPublic(ActionItemBase):
    id: int
    incident_id: int
    status: ActionItemStatus
    not_doing_reason: str | None
    closed_at: Moment | None
    verified_at: Moment | None
    verified_by: str | None
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


class FormKey(SQLModel, table=True):
    """A page form post being handled or handled: the digest of its idempotency key (made when
    the form was shown) and its body. A second identical post (a double click, a retry) leads to
    `location`, the first one's result, instead of acting twice; see `incidents.form_keys`."""

    __tablename__ = "form_key"
    digest: str = Field(primary_key=True, max_length=64)
    path: str = Field(max_length=2000)
    location: str | None = Field(default=None, max_length=2000)  # None while being handled
    claimed_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )
