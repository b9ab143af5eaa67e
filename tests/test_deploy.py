"""deploy/: every command the units and the compose file run exists, the proxy's limits match
the app's, the alert rules read series the app serves; `serve --workers 2` runs one scheduler."""

import configparser
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import typer
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.cli import app as cli
from api.cli.serve import tcp_socket
from incidents.grading import load_policy
from incidents.jobs import backup_job, clock_job
from incidents.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "stabilog-rules.yml"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))


def check_stabilog_command(arguments: list[str]) -> None:
    """Parses `stabilog ARGUMENTS` as the CLI would, without running it: an unknown command or
    option, or a bad value, raises click's usage error."""
    group = typer.main.get_command(cli)
    name, *rest = arguments
    with group.make_context("stabilog", list(arguments)) as context:
        command = group.get_command(context, name)
        assert command is not None, f"no command {name}"
        command.make_context(name, rest, parent=context).close()


def test_every_compose_service_of_ours_runs_a_command_the_package_has() -> None:
    services = compose()["services"]
    ours = {name: service for name, service in services.items() if "build" in service}
    assert set(ours) == {"migrate", "api-1", "api-2", "scheduler"}
    for service in ours.values():
        assert service["command"][0] == "stabilog"
        check_stabilog_command(service["command"][1:])
    assert services["postgres"]["image"] == "postgres:15"


def test_the_compose_file_serves_two_instances_that_share_one_scheduler() -> None:
    services = compose()["services"]
    serving = [name for name, s in services.items() if s.get("command", [None, None])[1] == "serve"]
    scheduling = [name for name, s in services.items() if "scheduler" in s.get("command", [])]
    assert serving == ["api-1", "api-2"]
    assert scheduling == ["scheduler"]
    for name in serving:
        assert services[name]["environment"]["STABILOG_SCHEDULER"] == "false"
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }


def test_the_health_checks_ask_the_readiness_route(client: TestClient) -> None:
    services = compose()["services"]
    for name in ("api-1", "api-2"):
        probe = " ".join(services[name]["healthcheck"]["test"])
        url = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", probe)
        assert url is not None
        assert url[1] == services[name]["command"][services[name]["command"].index("--port") + 1]
        assert client.get(url[2]).status_code == 200


def test_the_systemd_units_run_commands_the_package_has() -> None:
    commands = {}
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # keys as written (ExecStart), not lower-cased
        parser.read(unit)
        # %i is a template's instance name: stabilog@8000 serves on port 8000.
        start = parser["Service"]["ExecStart"].replace("%i", "8000")
        executable, *arguments = shlex.split(start)
        assert executable.endswith("/bin/stabilog")
        check_stabilog_command(arguments)
        commands[unit.name] = arguments[0]
    assert commands == {"stabilog@.service": "serve", "stabilog-scheduler.service": "scheduler"}


def test_the_proxy_sends_to_the_instances_compose_publishes() -> None:
    nginx = (DEPLOY / "nginx" / "stabilog.conf").read_text("utf-8")
    upstream = set(re.findall(r"^\s*server 127\.0\.0\.1:(\d+);", nginx, re.MULTILINE))
    published = {
        port.split(":")[1]
        for service in compose()["services"].values()
        for port in service.get("ports", [])
    }
    assert upstream == published == {"8000", "8001"}


def test_the_proxy_refuses_what_the_app_refuses() -> None:
    nginx = (DEPLOY / "nginx" / "stabilog.conf").read_text("utf-8")
    limit = re.search(r"client_max_body_size (\d+)m;", nginx)
    assert limit is not None
    assert int(limit[1]) * 1_048_576 == Settings.model_fields["max_body_bytes"].default
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx


def test_docker_compose_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], check=False).returncode:
        pytest.skip("no docker compose plugin here")
    checked = subprocess.run(
        [docker, "compose", "--file", str(DEPLOY / "compose.yaml"), "config", "--quiet"],
        env={**os.environ, "STABILOG_DB_PASSWORD": "test"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def rule_expressions() -> list[str]:
    groups = yaml.safe_load(RULES.read_text("utf-8"))["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def test_the_alert_rules_read_series_the_app_serves(
    client: TestClient, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    clock_job(engine, settings, load_policy(None), now)
    backup_job(engine, settings.model_copy(update={"backup_dir": tmp_path}), now)
    client.post("/api/v1/webhooks/alertmanager/no-such-key", content=b"{}")
    served = client.get("/metrics").text

    expressions = "\n".join(rule_expressions())
    for name in set(re.findall(r"\bstabilog_\w+", expressions)):
        assert re.search(rf"^{name}[{{ ]", served, re.MULTILINE), f"{name} is not served"
    for job in re.findall(r'scheduled_job="(\w+)"', expressions):
        if job != "weekly_report":  # its run is the weekly section's (tests/api/test_reports.py)
            sample = rf'^stabilog_job_last_run_timestamp_seconds{{scheduled_job="{job}"}} (\S+)$'
            last_run = re.search(sample, served, re.MULTILINE)
            assert last_run is not None, f"no run of {job} served"
            assert abs(float(last_run[1]) - now.timestamp()) < 60
    webhooks = (ROOT / "api" / "routes" / "webhooks.py").read_text("utf-8")
    for results in re.findall(r'result=~?"([\w|]+)"', expressions):
        for result in results.split("|"):
            assert f'labels(kind, "{result}")' in webhooks, result


def test_promtool_accepts_the_rules_and_their_unit_tests() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus)")
    for command in ("check", "test"):
        target = RULES if command == "check" else RULES.with_suffix(".test.yml")
        checked = subprocess.run(
            [promtool, command, "rules", str(target)], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_stabilog(arguments: list[str], tmp_path: Path, log: Path) -> subprocess.Popen:
    """`stabilog ARGUMENTS` on a fresh SQLite database with JSON logs, its output in `log`."""
    environment = {
        **os.environ,
        "STABILOG_DATABASE_URL": f"sqlite:///{tmp_path / 'stabilog.db'}",
        "STABILOG_SCHEDULER": "true",
        "STABILOG_LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-c", "from api.cli import app; app()", *arguments]
    with log.open("wb") as output:
        return subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT
        )


def wait_for(text: str, times: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while log.read_text().count(text) < times:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def test_serve_with_two_workers_answers_and_runs_one_scheduler(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    server = start_stabilog(["serve", "--port", str(port), "--workers", "2"], tmp_path, log)
    try:
        wait_for("Application startup complete", 2, server, log)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
            answers = [http.get("/readyz").status_code for _ in range(20)]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)

    entries = [json.loads(line) for line in log.read_text().splitlines()]  # JSON, every line
    messages = [entry["message"] for entry in entries]
    assert answers == [200] * 20
    workers = {m for m in messages if m.startswith("Started server process")}
    assert len(workers) == 2
    assert messages.count("Scheduler started") == 1
    access = [entry for entry in entries if entry["logger"] == "stabilog.access"]
    assert len(access) == 20


def test_the_scheduler_alone_logs_json_and_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "scheduler.log"
    scheduler = start_stabilog(["scheduler"], tmp_path, log)
    try:
        wait_for("scheduler running", 1, scheduler, log)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=30) == 0

    messages = [json.loads(line)["message"] for line in log.read_text().splitlines()]
    assert messages.count("Scheduler started") == 1
    assert "scheduler running; SIGINT or SIGTERM stops it" in messages


def test_the_workers_listen_on_a_socket_asyncio_sets_tcp_nodelay_on() -> None:
    # asyncio sets TCP_NODELAY on accepted connections only when the listening socket names the
    # TCP protocol; without it every two-segment answer waits out the client's delayed ACK.
    listener = tcp_socket("127.0.0.1", 0)
    try:
        assert listener.proto == socket.IPPROTO_TCP
        assert listener.get_inheritable()  # uvicorn's worker processes inherit it
    finally:
        listener.close()
