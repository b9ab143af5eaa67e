"""Similar past incidents among 100,000, against loading the same answers by primary key.

    .venv/bin/python bench/similar.py [--database-url URL] [--incidents 100000] [--runs 50]

Fills a fresh database with `--incidents` incidents of realistic Chinese titles (channel +
business + symptom, e.g. 银联代付接口超时; 25 × 20 × 20 combinations, so each title recurs),
root causes on 40 % and a 复盘 with its root cause on half, spread over 2023 and 12 systems,
with Core bulk inserts (the triggers of migration 0011 index each row as production would).
Then, for each query below, alternates `--runs` times

- the search: `incidents.similar.find_similar` in a fresh session, as one request makes it;
- the baseline: in a fresh session, loading the very incidents the search answered, with their
  复盘, by primary key — the statement the search ends with. It is the least any way of
  showing the panel must do, so the ratio is what finding them costs on top, on any machine.

and prints the median and P90 of each, and the ratio of the medians. Goal (issue 13): under
50 ms per query on SQLite and on PostgreSQL.

Without `--database-url`, SQLite in a temp dir (deleted at the end). With a PostgreSQL URL, a
database of its own is created on that server (any database of the URL serves to connect) and
dropped at the end. Talks to the given database only; every loop is bounded.
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incidents.db import make_engine  # noqa: E402
from incidents.models import Incident, Postmortem  # noqa: E402
from incidents.schema import upgrade_to_head  # noqa: E402
from incidents.similar import SimilarQuery, find_similar  # noqa: E402

SEED = 13
BATCH = 10_000
YEAR_START = datetime(2023, 1, 1, tzinfo=UTC)


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SYSTEMS = words("收单 出金 入金 清结算 风控 账务 渠道网关 商户平台 对账 营销 履约 会员")
CHANNELS = words(
    "银联 网联 支付宝 微信支付 中信存管 招行 工行 建行 农行 中行 交行 平安银行 浦发 民生 光大"
    " 银商 拉卡拉 快钱 京东支付 云闪付 跨境 PayPal Visa 万事达 连连"
)
BUSINESS = words(
    "代付 代扣 快捷支付 收单 退款 提现 对账 清算 结算 出金 入金 POS付款单 扫码支付 分账 充值"
    " 鉴权 绑卡 批量代发 余额查询 签约"
)
SYMPTOMS = words(
    "接口超时 成功率下跌 返回码异常 通道中断 专线中断 证书过期 报文验签失败 对账文件延迟"
    " 数据库连接池耗尽 主从延迟 消息队列积压 限流触发 发布后错误率升高 批量任务失败 回调通知丢失"
    " 重复扣款 余额不一致 响应缓慢 DNS解析失败 服务不可用"
)
CAUSES = (
    "变更未灰度，新版本配置错误",
    "数据库慢查询拖垮连接池",
    "银行侧系统升级未提前通知",
    "专线运营商光缆被挖断",
    "证书到期未续签，缺少到期提醒",
    "限流阈值设置过低",
    "缓存雪崩导致数据库压力激增",
    "定时任务重复执行",
    "消息消费者线程池满",
    "对方机构报文格式变更",
    "网络设备故障导致丢包",
    "代码缺陷：金额精度处理错误",
    "磁盘写满导致服务异常",
    "DNS配置被误改",
    "负载均衡健康检查配置错误",
    "第三方依赖超时未设置熔断",
)
CATEGORIES = ("change", "capacity", "dependency", "data", "config", "network_hardware")
FIXES = ("切换备用通道", "回滚版本", "扩容后恢复", "重启实例", "补发回调", "人工补单")

# (what is typed, the system, a root cause): titles as on call types them, one with a root
# cause as the incident page asks, and one under three characters (the same system only).
QUERIES = (
    ("银联代付接口超时", "出金", ""),
    ("中信存管POS付款单失败", "履约", ""),
    ("网联快捷支付成功率下跌", "收单", ""),
    ("支付宝退款回调通知丢失", "收单", ""),
    ("清算批量任务失败", "清结算", ""),
    ("招行代扣专线中断", "入金", ""),
    ("银联代付接口超时", "出金", "银行侧系统升级未提前通知，代付接口返回超时"),
    ("超时", "出金", ""),
)


def rows(rng: random.Random, count: int) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    step = timedelta(days=365) / count
    for number in range(1, count + 1):
        detected = YEAR_START + step * number
        title = rng.choice(CHANNELS) + rng.choice(BUSINESS) + rng.choice(SYMPTOMS)
        incident = {
            "id": number,
            "title": title,
            "system": rng.choice(SYSTEMS),
            "detected_at": detected,
            "occurred_at": detected,
            "root_cause": rng.choice(CAUSES) if rng.random() < 0.4 else None,
            "remediation": rng.choice(FIXES),
            "grade": rng.choice(("A", "B", "C", "C", "D", "D", None)),
            "created_by": "bench",
            "created_at": detected,
            "updated_at": detected,
        }
        postmortem = None
        if rng.random() < 0.5:
            postmortem = {
                "incident_id": number,
                "root_cause": f"{rng.choice(CAUSES)}；{rng.choice(CAUSES)}",
                "root_cause_category": rng.choice(CATEGORIES),
                "updated_at": detected,
            }
        yield incident, postmortem


def generate(engine: Engine, count: int) -> None:
    rng = random.Random(SEED)
    generated = rows(rng, count)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA synchronous=OFF")  # this connection only
        while batch := [row for _, row in zip(range(BATCH), generated, strict=False)]:
            connection.execute(Incident.__table__.insert(), [incident for incident, _ in batch])
            postmortems = [postmortem for _, postmortem in batch if postmortem is not None]
            if postmortems:
                connection.execute(Postmortem.__table__.insert(), postmortems)
            connection.commit()
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('incident', 'id'), max(id)) FROM incident"
            )
            connection.commit()
    if engine.dialect.name == "postgresql":
        # What autovacuum would do soon after a bulk load.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 9 // 10) - 1)]  # nearest rank


def measure(database_url: str, count: int, runs: int) -> None:
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        if connection.execute(select(func.count()).select_from(Incident)).scalar_one():
            raise SystemExit("the database is not empty; give an empty one")
    generation, _ = timed(lambda: generate(engine, count))
    print(f"database   {engine.dialect.name}, {count:,} incidents")
    print(f"generation {generation:6.1f} s (not measured)")

    def search(query: SimilarQuery) -> list[int]:
        with Session(engine) as session:
            return [found.id for found in find_similar(session, query)]

    def baseline(ids: list[int]) -> int:
        with Session(engine) as session:
            loaded = session.exec(
                select(Incident, Postmortem)
                .outerjoin(Postmortem, col(Postmortem.incident_id) == col(Incident.id))
                .where(col(Incident.id).in_(ids))
            ).all()
            return len(loaded)

    # Chinese is two columns wide in a terminal: the query and its top answer come last.
    print("\nsearch median      P90   baseline  ratio  found  query → its top answer")
    worst = 0.0
    for title, system, root_cause in QUERIES:
        query = SimilarQuery(title=title, system=system, root_cause=root_cause)
        answer = search(query)  # one untimed round: warm caches, compiled statements
        baseline(answer)
        searches, baselines = [], []
        for _ in range(runs):
            searches.append(timed(lambda query=query: search(query))[0])
            baselines.append(timed(lambda answer=answer: baseline(answer))[0])
        median, bare = statistics.median(searches), statistics.median(baselines)
        worst = max(worst, median)
        with Session(engine) as session:
            top = session.get(Incident, answer[0]) if answer else None
        asked = f"{title}{'（+根因）' if root_cause else ''} @{system}"
        best = f"{top.title} @{top.system}" if top else "—"
        print(
            f"{median * 1000:10.1f} ms {p90(searches) * 1000:6.1f} ms {bare * 1000:7.2f} ms"
            f" {median / bare:6.1f} {len(answer):6}  {asked} → {best}"
        )
    verdict = "met" if worst < 0.05 else "MISSED"
    print(f"\nslowest median {worst * 1000:.1f} ms (goal < 50 ms: {verdict})")
    print("load average   {:.2f} {:.2f} {:.2f} (1/5/15 min)".format(*os.getloadavg()))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="sqlite:///… or a PostgreSQL server")
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    if not 1 <= args.runs <= 1000 or args.incidents < 10:
        parser.error("--runs must be 1..1000, --incidents at least 10")

    if args.database_url and args.database_url.startswith("postgresql"):
        server = make_url(args.database_url)
        name = f"stabilog_bench_similar_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            url = server.set(database=name).render_as_string(hide_password=False)
            measure(url, args.incidents, args.runs)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
        return
    if args.database_url:
        measure(args.database_url, args.incidents, args.runs)
        return
    workdir = tempfile.mkdtemp(prefix="stabilog-bench-")
    try:
        measure(f"sqlite:///{workdir}/bench.db", args.incidents, args.runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
