"""A week's report, a year's metrics and the year's review over a year of data, against a bare
COUNT of the same rows; then the year's alerts exported as CSV and XLSX.

    .venv/bin/python bench/report.py [--database-url URL] [--incidents 100000]
        [--alerts 2000000] [--repeat 5] [--reuse] [--ddl SQL …] [--statements] [--no-export]

Builds a synthetic 2023 (Asia/Shanghai) in a fresh database (SQLite in a temp dir by default;
for PostgreSQL give the URL of an EMPTY database): incidents about 2,000 a week, graded A–D by the
packaged policy, with postmortems and action items; alerts about 38,000 a week, most followed up.
Then alternates, `--repeat` times, one week's report (2023-W37, zh, Markdown), a year's metrics,
the year's period review (`stabilog report period 2023`: this year beside the last, zh,
Markdown), and the baseline — a bare `SELECT count(*)` of the alerts and of the incidents in the
same window — and prints the medians and their ratios. Generation is timed but not part of the
ratio. Last, unless `--no-export`, it runs bench/export.py over the same database: every alert
as CSV and as XLSX, each in a process of its own, with its peak memory and time.
The default SQLite database (2 GB at the full sizes) is deleted at the end.

`--reuse` skips generation when the database already holds the bench's data (to try a change
without waiting for 2,000,000 rows again); `--ddl` runs statements (e.g. a CREATE INDEX proposal)
on the bench database before measuring; `--statements` prints the slowest SQL statements of one
report and one year's metrics. Talks to the given database only; every loop is bounded.
"""

import argparse
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, event, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incidents import metrics, period_report, report  # noqa: E402
from incidents.alerts import tally  # noqa: E402
from incidents.alerts.models import Alert, Source  # noqa: E402
from incidents.db import UTCDateTime, make_engine  # noqa: E402
from incidents.grading import ImpactFacts, load_policy  # noqa: E402
from incidents.models import ActionItem, Incident, Postmortem  # noqa: E402
from incidents.periods import parse_period  # noqa: E402
from incidents.schema import upgrade_to_head  # noqa: E402
from incidents.settings import Settings  # noqa: E402
from incidents.weeks import parse_week  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
YEAR_START = datetime(2023, 1, 1, tzinfo=TZ).astimezone(UTC)
YEAR_END = datetime(2024, 1, 1, tzinfo=TZ).astimezone(UTC)
REPORT_WEEK = "2023-W37"
REVIEW_PERIOD = "2023"
BATCH = 10_000
BATCHES_PER_TRANSACTION = 20
SEED = 20231

SYSTEMS = (
    "收单",
    "出金",
    "入金",
    "清结算",
    "风控",
    "账务",
    "渠道网关",
    "商户平台",
    "对账",
    "营销",
    "履约",
    "会员",
)
CORE_SYSTEMS = frozenset(SYSTEMS[:6])
ALERT_NAMES = (
    "PayGatewayErrors",
    "ChannelTimeouts",
    "HighLatencyP99",
    "DBConnectionsHigh",
    "QueueBacklog",
    "DiskUsageHigh",
    "PodRestarting",
    "CertificateExpiry",
    "SettlementDelay",
    "ErrorRateSpike",
)
WHAT = (
    "支付超时",
    "渠道返回异常",
    "数据库主从延迟",
    "发布后错误率升高",
    "证书过期",
    "对账文件延迟",
)
DETECTIONS = (
    ("monitoring", 55),
    ("alert", 25),
    ("manual", 10),
    ("user_report", 7),
    ("external", 3),
)


def spread(rng: random.Random, n: int, start: datetime, end: datetime) -> Iterator[datetime]:
    """n moments over [start, end), strictly increasing, each jittered within its own slot."""
    step = (end - start) / n
    for i in range(n):
        yield start + step * (i + rng.random() * 0.999)


ACKNOWLEDGE_AFTER = timedelta(minutes=2)


def log_uniform(rng: random.Random, low: float, high: float) -> int:
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def incident_rows(
    rng: random.Random, count: int
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None, list[dict[str, Any]]]]:
    """(incident, postmortem or None, action items) in detection order, ids 1..count."""
    policy = load_policy(None)
    detections = [name for name, weight in DETECTIONS for _ in range(weight)]
    for number, detected in enumerate(spread(rng, count, YEAR_START, YEAR_END), 1):
        system = rng.choice(SYSTEMS)
        core = system in CORE_SYSTEMS
        occurred = detected - timedelta(seconds=log_uniform(rng, 10, 3600))
        recovered = (
            detected + timedelta(seconds=log_uniform(rng, 60, 6 * 3600))
            if rng.random() < 0.9
            else None
        )
        impact = rng.random() < 0.3
        failed = log_uniform(rng, 1, 30_000) if impact else None
        minutes = log_uniform(rng, 1, 240) if impact and rng.random() < 0.8 else None
        regulatory = impact and rng.random() < 0.002
        graded = policy.evaluate(
            ImpactFacts(
                business_impact=impact,
                failed_orders=failed,
                core_system=core,
                regulatory_triggers=frozenset({"other_major_event"} if regulatory else ()),
                impact_minutes=minutes,
                occurred_at=occurred,
                recovered_at=recovered,
            )
        )
        local_day = detected.astimezone(TZ).date()
        monday = local_day - timedelta(days=local_day.weekday())
        report_week = None
        if rng.random() < 0.03:  # filed into this week's or (late) next week's report
            report_week = monday + timedelta(weeks=rng.randint(0, 1))
        what = rng.choice(WHAT)
        resolved = recovered + timedelta(hours=1) if recovered and rng.random() < 0.8 else None
        # Milestones in between, from the draws above, so the random sequence stays as it was.
        to_recover = recovered - detected if recovered else None
        incident = {
            "id": number,
            "title": f"{system}{what}",
            "system": system,
            "occurred_at": occurred,
            "detected_at": detected,
            "acknowledged_at": detected + min(ACKNOWLEDGE_AFTER, to_recover or ACKNOWLEDGE_AFTER),
            "located_at": detected + to_recover * 0.4 if to_recover else None,
            "mitigation_started_at": detected + to_recover * 0.4 if to_recover else None,
            "mitigated_at": detected + to_recover * 0.7 if to_recover else None,
            "recovered_at": recovered,
            "resolved_at": resolved,
            "detection": rng.choice(detections),
            "source": "bench",
            "description": f"{system}{what}，影响部分交易，已定位到第{number % 97}号实例",
            "impact": f"失败订单{failed}笔" if impact else None,
            "business_impact": impact,
            "failed_orders": failed,
            "failed_transactions": None,
            "affected_users": None,
            "impact_minutes": minutes,
            "amount_involved_cny": None,
            "loss_cny": None,
            "recovered_cny": None,
            "core_system": core,
            "regulatory": regulatory,
            "regulatory_triggers": ["other_major_event"] if regulatory else [],
            "remediation": "重启实例并切换备用渠道" if recovered else None,
            "root_cause": None,
            "report_week": report_week,
            "status": "closed" if resolved else ("mitigated" if recovered else "open"),
            "owner": f"oncall-{number % 20}",
            "grade": graded.grade,
            "grade_reason": graded.reason_text,
            "grade_overridden": False,
            "needs_review": False,
            "import_fingerprint": None,
            "created_by": "bench",
            "created_at": detected,
            "updated_at": resolved or recovered or detected,
        }
        postmortem, items = None, []
        if graded.grade is not None and rng.random() < 0.5:
            status = rng.choices(("published", "in_review", "draft"), (60, 20, 20))[0]
            postmortem = {
                "incident_id": number,
                "summary": f"{system}{what}复盘",
                "impact": None,
                "trigger": None,
                "direct_cause": None,
                "root_cause": "变更未灰度",
                "five_whys": ["为什么失败", "为什么未发现"],
                "root_cause_category": "change",
                "went_well": None,
                "went_wrong": None,
                "got_lucky": None,
                "status": status,
                "reviewers": ["sre-lead"],
                "due_date": local_day + timedelta(days=14),
                "published_at": detected + timedelta(days=7) if status == "published" else None,
                "updated_at": detected + timedelta(days=7),
            }
            for _ in range(rng.choice((0, 0, 0, 1, 2))):
                due = local_day + timedelta(days=rng.randint(7, 45))
                state = rng.choices(("done", "open", "not_doing"), (60, 30, 10))[0]
                closed = (
                    datetime.combine(due, datetime.min.time(), TZ).astimezone(UTC)
                    + timedelta(days=rng.randint(-10, 5))
                    if state != "open"
                    else None
                )
                items.append(
                    {
                        "title": "补充监控与灰度发布",
                        "type": rng.choice(("prevent", "detect", "mitigate", "process")),
                        "owner": f"dev-{number % 30}",
                        "due_date": due,
                        "status": state,
                        "not_doing_reason": "成本过高" if state == "not_doing" else None,
                        "incident_id": number,
                        "closed_at": closed,
                        "created_at": detected + timedelta(days=7),
                    }
                )
        yield incident, postmortem, items


def alert_rows(
    rng: random.Random, count: int, source_id: int, incidents: int
) -> Iterator[dict[str, Any]]:
    """Alerts in arrival order; (fingerprint, starts_at) unique because starts_at only grows."""
    for number, received in enumerate(spread(rng, count, YEAR_START, YEAR_END)):
        rule = rng.randrange(len(ALERT_NAMES))
        instance = rng.randrange(200)
        alertname, system = ALERT_NAMES[rule], SYSTEMS[instance % len(SYSTEMS)]
        fingerprint = f"{(rule * 1000 + instance) * 2654435761 % 2**64:016x}"
        severity = rng.choices(("critical", "warning", "info"), (5, 60, 35))[0]
        starts = received - timedelta(seconds=30)
        resolved = (
            starts + timedelta(seconds=log_uniform(rng, 60, 4 * 3600))
            if rng.random() < 0.97
            else None
        )
        labels = {
            "alertname": alertname,
            "service": system,
            "severity": severity,
            "instance": f"{system}-{instance}",
        }
        annotations = {"summary": f"{alertname} on {system}-{instance}"}
        row: dict[str, Any] = {
            "source_id": source_id,
            "fingerprint": fingerprint,
            "status": "resolved" if resolved else "firing",
            "title": f"{alertname} {system}-{instance}",
            "severity": severity,
            "system": system,
            "labels": labels,
            "annotations": annotations,
            "url": "http://prometheus:9090/graph",
            "starts_at": starts,
            "ends_at": resolved,
            "received_at": received,
            "last_seen_at": resolved or received,
            "repeat_count": rng.randrange(6),
            "resolved_at": resolved,
            "acked_at": None,
            "acked_by": None,
            "valid": None,
            "verdict_note": None,
            "verdict_at": None,
            "verdict_by": None,
            "incident_id": None,
            "linked_at": None,
            "linked_by": None,
            "first_follow_up_at": None,
            "raw": {
                "status": "resolved" if resolved else "firing",
                "labels": labels,
                "annotations": annotations,
                "startsAt": starts.isoformat(),
                "fingerprint": fingerprint,
            },
        }
        if rng.random() < 0.9:
            followed = received + timedelta(seconds=rng.uniform(30, 1200))
            who = f"oncall-{number % 20}"
            row.update(acked_at=followed, acked_by=who, first_follow_up_at=followed)
            if rng.random() < 0.78:  # ~70% of all alerts get a verdict
                row.update(
                    valid=rng.random() < 0.8,
                    verdict_at=followed + timedelta(minutes=2),
                    verdict_by=who,
                )
            if rng.random() < 0.005:
                linked = min(incidents, max(1, number * incidents // count + 1))
                row.update(
                    incident_id=linked, linked_at=followed + timedelta(minutes=3), linked_by=who
                )
        yield row


def batched(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def generate(engine: Engine, incidents: int, alerts: int) -> dict[str, int]:
    rng = random.Random(SEED)
    counts: dict[str, int] = defaultdict(int)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA synchronous=OFF")  # this connection only
        source_id = connection.execute(
            Source.__table__.insert().returning(Source.__table__.c.id),
            {
                "kind": "alertmanager",
                "name": "bench",
                "key": "bench-key",
                "secret": None,
                "system_label": "service",
                "enabled": True,
                "created_at": YEAR_START,
            },
        ).scalar_one()
        connection.commit()
        for number, batch in enumerate(batched(incident_rows(rng, incidents), BATCH), 1):
            connection.execute(Incident.__table__.insert(), [row for row, _, _ in batch])
            postmortems = [pm for _, pm, _ in batch if pm is not None]
            items = [item for _, _, its in batch for item in its]
            if postmortems:
                connection.execute(Postmortem.__table__.insert(), postmortems)
            if items:
                connection.execute(ActionItem.__table__.insert(), items)
            counts["incident"] += len(batch)
            counts["postmortem"] += len(postmortems)
            counts["action_item"] += len(items)
            if number % BATCHES_PER_TRANSACTION == 0:
                connection.commit()
        connection.commit()
        rows = alert_rows(rng, alerts, source_id, incidents)
        for number, batch in enumerate(batched(rows, BATCH), 1):
            connection.execute(Alert.__table__.insert(), batch)
            counts["alert"] += len(batch)
            if number % BATCHES_PER_TRANSACTION == 0:
                connection.commit()
                print(f"  … {counts['alert']:,} alerts", file=sys.stderr, flush=True)
        # Bulk inserts bypass the webhook path that tallies each new alert: counted at once.
        tally.rebuild(connection)
        connection.commit()
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('incident', 'id'), "
                "(SELECT max(id) FROM incident))"
            )
            connection.commit()
    if engine.dialect.name == "postgresql":
        # What autovacuum would do soon after a bulk load; without it the plans and the
        # index-only counts measure a transient state.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    return dict(counts)


def existing_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (
                Incident.__table__,
                Postmortem.__table__,
                ActionItem.__table__,
                Alert.__table__,
            )
        }


_moment = UTCDateTime()
BASELINE = (
    text(
        "SELECT count(*) FROM alert WHERE received_at >= :start AND received_at < :end"
    ).bindparams(bindparam("start", type_=_moment), bindparam("end", type_=_moment)),
    text(
        "SELECT count(*) FROM incident WHERE detected_at >= :start AND detected_at < :end"
    ).bindparams(bindparam("start", type_=_moment), bindparam("end", type_=_moment)),
)


def baseline(engine: Engine, start: datetime, end: datetime) -> tuple[int, int]:
    with Session(engine) as session:
        alerts, incidents = (
            session.execute(query, {"start": start, "end": end}).scalar_one() for query in BASELINE
        )
        return alerts, incidents


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


class StatementTimes:
    """Wall time per SQL statement while active (execute only: rows fetched later are not in it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.times = engine, defaultdict(list)

    def _before(self, conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        shown = " ".join(statement.split())
        self.times[shown].append(time.perf_counter() - conn.info.pop("bench_started"))

    def __enter__(self) -> "StatementTimes":
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def print_slowest(self, title: str, total: float, top: int = 12) -> None:
        spent = sum(sum(times) for times in self.times.values())
        print(f"\n{title}: {total:.3f} s in all, {spent:.3f} s in cursor.execute")
        ranked = sorted(self.times.items(), key=lambda item: -sum(item[1]))
        for statement, times in ranked[:top]:
            print(f"  {sum(times):7.3f} s  ×{len(times):<2} {statement[:150]}")


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--alerts", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep a database the bench filled")
    parser.add_argument("--ddl", action="append", default=[], help="SQL to run before measuring")
    parser.add_argument("--statements", action="store_true", help="print the slowest SQL")
    parser.add_argument("--no-export", action="store_true", help="skip bench/export.py")
    args = parser.parse_args()
    if not 1 <= args.repeat <= 50 or args.incidents < 1 or args.alerts < 1:
        parser.error("--repeat must be 1..50, --incidents and --alerts at least 1")

    if args.database_url:
        measure(args, args.database_url)
        return
    workdir = tempfile.mkdtemp(prefix="stabilog-bench-")
    try:
        measure(args, f"sqlite:///{workdir}/bench.db")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # 2 GB at the full sizes


def measure(args: argparse.Namespace, database_url: str) -> None:
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    backend = engine.dialect.name

    rows = existing_rows(engine)
    generation = None
    if any(rows.values()):
        if not args.reuse or rows["alert"] == 0:
            raise SystemExit(f"{backend} database is not empty ({rows}); give an empty one")
        print(f"reusing the data already in the {backend} database")
    else:
        generation, rows = timed(lambda: generate(engine, args.incidents, args.alerts))
    for statement in args.ddl:
        spent, _ = timed(lambda statement=statement: _run_ddl(engine, statement))
        print(f"ddl ({spent:.1f} s): {statement}")

    settings = Settings(database_url=database_url, timezone=str(TZ))
    week = parse_week(REPORT_WEEK)
    week_start, week_end = settings.calendar.window(week)
    year = metrics.Window(YEAR_START, YEAR_END)
    targets = load_policy(None).targets

    def weekly_report() -> str:
        with Session(engine) as session:
            built = report.build(session, week, settings, "zh", targets=targets)
            return report.to_markdown(built)

    def year_metrics() -> metrics.Metrics:
        with Session(engine) as session:
            return metrics.compute(session, year, settings, targets=targets)

    def year_review() -> str:
        with Session(engine) as session:
            built = period_report.build(
                session, parse_period(REVIEW_PERIOD), settings, "zh", targets=targets
            )
            return period_report.to_markdown(built)

    # One untimed round so every path runs with warm caches and compiled statements.
    markdown, computed, review = weekly_report(), year_metrics(), year_review()
    week_counts = baseline(engine, week_start, week_end)
    year_counts = baseline(engine, YEAR_START, YEAR_END)
    assert computed.follow_up_rate.denominator == year_counts[0], (computed, year_counts)
    assert computed.incidents == year_counts[1], (computed.incidents, year_counts)

    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(args.repeat):
        times["week baseline"].append(timed(lambda: baseline(engine, week_start, week_end))[0])
        times["week report"].append(timed(weekly_report)[0])
        times["year baseline"].append(timed(lambda: baseline(engine, YEAR_START, YEAR_END))[0])
        times["year metrics"].append(timed(year_metrics)[0])
        times["year review"].append(timed(year_review)[0])
    median = {name: statistics.median(values) for name, values in times.items()}

    print(f"database            {backend}")
    print("rows                " + ", ".join(f"{table} {n:,}" for table, n in rows.items()))
    if generation is not None:
        print(f"generation          {generation:8.1f} s (not measured)")
    print(
        f"report {REPORT_WEEK}      {len(markdown.splitlines()):,} Markdown lines; "
        f"the week holds {week_counts[0]:,} alerts, {week_counts[1]:,} incidents"
    )
    print(f"review {REVIEW_PERIOD}         {len(review.splitlines()):,} Markdown lines")
    for name, goal_seconds in (("week report", 1.0), ("year metrics", None), ("year review", 2.0)):
        measured, bare = median[name], median[name.split()[0] + " baseline"]
        ratio = measured / bare
        goals = f"ratio ≤ 5 {verdict(ratio <= 5)}"
        if goal_seconds is not None:
            goals = f"< {goal_seconds:.0f} s {verdict(measured < goal_seconds)}, {goals}"
        print(
            f"{name:<18}  {measured:8.3f} s median of {args.repeat}; bare count "
            f"{bare:8.4f} s; ratio {ratio:7.1f}   ({goals})"
        )

    print(
        "load average        {:.2f} {:.2f} {:.2f} (1/5/15 min; the bench itself adds about 1,"
        " more means another process shared the two cores)".format(*os.getloadavg())
    )

    if args.statements:
        for title, action in (
            ("week report", weekly_report),
            ("year metrics", year_metrics),
            ("year review", year_review),
        ):
            with StatementTimes(engine) as statements:
                total, _ = timed(action)
            statements.print_slowest(title, total)
    engine.dispose()
    if not args.no_export:
        # The same rows the reports read, exported as a user would download them (bench/export.py
        # measures each format in a process of its own, so its peak memory is the export's).
        export = [sys.executable, str(ROOT / "bench" / "export.py"), "--reuse"]
        subprocess.run([*export, "--database-url", database_url], check=True)


def _run_ddl(engine: Engine, statement: str) -> None:
    # Autocommit: PostgreSQL runs VACUUM and CREATE INDEX CONCURRENTLY outside a transaction only.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(statement)


if __name__ == "__main__":
    main()
