"""Exporting a year of alerts as CSV and as XLSX: peak memory and time, against a bare streaming
SELECT of the same rows.

    .venv/bin/python bench/export.py [--database-url URL] [--alerts 2000000] [--incidents 10000]
        [--reuse]

Fills a fresh database with bench/report.py's synthetic 2023 (SQLite in a temp dir by default;
for PostgreSQL give the URL of an EMPTY database), then runs each measurement in a process of
its own, so each process's peak resident set (`VmHWM` of /proc/self/status, which counts
the interpreter, the imported app and the driver, not only Python objects as tracemalloc would)
is that measurement's alone:

- bare: the export's very statement (`incidents.exports.alerts_export`, no filter) read with the
  same `yield_per` chunks, each row's cells made (`exports.rows`) and dropped — what any export
  must pay;
- csv: the same rows written by `exports.write_csv` to a file;
- xlsx: the same rows written by `exports.write_xlsx` (XlsxWriter, constant_memory) to a file.

Goal (issue 14): under 200 MB peak for the export. Files go to the temp dir and are deleted.
"""

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from incidents import exports  # noqa: E402
from incidents.alerts.service import AlertFilter  # noqa: E402
from incidents.db import make_engine  # noqa: E402
from incidents.schema import upgrade_to_head  # noqa: E402
from incidents.settings import Settings  # noqa: E402

GOAL_MB = 200
MODES = ("bare", "csv", "xlsx")


def _report_bench():
    spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench" / "report.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def peak_resident_kb() -> int:
    """This process image's peak resident set. Not `getrusage(...).ru_maxrss`: Linux carries it
    across fork and exec, so a child would report its parent's peak (the data generation)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: the best there is


def run_one(mode: str, database_url: str, output: str) -> None:
    """In the child: one measurement, printed as one JSON line."""
    engine = make_engine(database_url)
    calendar = Settings(database_url=database_url, timezone="Asia/Shanghai").calendar
    export = exports.alerts_export(AlertFilter())
    started = time.perf_counter()
    rows = 0
    with Session(engine) as session:
        cells = exports.rows(session, export, calendar)
        if mode == "bare":
            for _ in cells:
                rows += 1
        elif mode == "csv":

            def counted():
                nonlocal rows
                for row in cells:
                    rows += 1
                    yield row

            with open(output, "wb") as out:
                exports.write_csv(export.header, counted(), out)
        else:

            def counted_xlsx():
                nonlocal rows
                for row in cells:
                    rows += 1
                    yield row

            exports.write_xlsx(export, counted_xlsx(), Path(output))
    seconds = time.perf_counter() - started
    peak_kb = peak_resident_kb()
    size = os.path.getsize(output) if mode != "bare" else 0
    print(
        json.dumps(
            {
                "mode": mode,
                "seconds": seconds,
                "peak_mb": peak_kb / 1024,
                "rows": rows,
                "bytes": size,
            }
        )
    )


def measure(database_url: str, alerts: int, incidents: int, reuse: bool) -> None:
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    bench_report = _report_bench()
    existing = bench_report.existing_rows(engine)
    if existing["alert"] and reuse:
        print(f"reusing {existing['alert']:,} alerts")
    elif any(existing.values()):
        raise SystemExit(f"database is not empty ({existing}); give an empty one or --reuse")
    else:
        started = time.perf_counter()
        counts = bench_report.generate(engine, incidents, alerts)
        print(
            f"generation          {time.perf_counter() - started:8.1f} s (not measured); {counts}"
        )
    engine.dispose()

    outdir = tempfile.mkdtemp(prefix="stabilog-export-bench-")
    results = {}
    try:
        # The bare read twice, first and last, the faster kept: the first run warms the caches.
        for mode in (*MODES, "bare"):
            output = os.path.join(outdir, f"alerts.{mode}")
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    mode,
                    "--database-url",
                    database_url,
                    "--output",
                    output,
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            got = json.loads(child.stdout.strip().splitlines()[-1])
            if mode not in results or got["seconds"] < results[mode]["seconds"]:
                results[mode] = got
            Path(output).unlink(missing_ok=True)
    finally:
        shutil.rmtree(outdir, ignore_errors=True)

    bare = results["bare"]
    print(f"database            {database_url.split(':')[0]}; {bare['rows']:,} alerts")
    for mode in MODES:
        got = results[mode]
        per_row = got["seconds"] / max(got["rows"], 1) * 1e6
        line = (
            f"{mode:<6} {got['seconds']:8.1f} s ({per_row:5.1f} µs/row)  peak "
            f"{got['peak_mb']:6.1f} MB"
        )
        if mode != "bare":
            ok = "met" if got["peak_mb"] < GOAL_MB else "MISSED"
            line += (
                f"  (+{got['peak_mb'] - bare['peak_mb']:.1f} MB, "
                f"{got['seconds'] / bare['seconds']:.1f} × bare time; file "
                f"{got['bytes'] / 1e6:,.0f} MB; < {GOAL_MB} MB {ok})"
            )
        print(line)
    print("load average        {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--alerts", type=int, default=2_000_000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--reuse", action="store_true", help="keep a database the bench filled")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_one(args.child, args.database_url, args.output)
        return
    if args.alerts < 1 or args.incidents < 1:
        parser.error("--alerts and --incidents at least 1")
    if args.database_url:
        measure(args.database_url, args.alerts, args.incidents, args.reuse)
        return
    workdir = tempfile.mkdtemp(prefix="stabilog-bench-")
    try:
        measure(f"sqlite:///{workdir}/bench.db", args.alerts, args.incidents, False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
