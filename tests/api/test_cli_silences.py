"""`stabilog silence add|list|expire`: the same silences as the API, refusals naming the flag."""

from typer.testing import CliRunner

from api.cli import app
from incidents.models import Role
from tests.api.test_webhooks import am_alert, am_delivery, make_source

runner = CliRunner()


def silence(*args: str):
    return runner.invoke(app, ["silence", *args])


def test_a_silence_made_in_the_shell_holds_alerts_until_expired(cli_database, client, auth):
    path = make_source(client, auth, "alertmanager")
    made = silence(
        "add",
        "--match",
        'service="pay"',
        "--source",
        "alertmanager-open",
        "--for",
        "2h",
        "--reason",
        "支付网关扩容",
    )
    assert made.exit_code == 0, made.output
    assert made.output.startswith('silence 1: source 1 service="pay"')
    client.post(path, content=am_delivery(am_alert("gw", service="pay")))
    listed = silence("list")
    assert "1\tactive, holding now\t" in listed.output
    assert "1 alerts held\tcli:" in listed.output
    assert silence("expire", "1").output == "silence 1 expired\n"
    assert "expired" not in silence("list").output  # expired ones only with --all
    assert "1\texpired\t" in silence("list", "--all").output
    [alert] = client.get("/api/v1/alerts", headers=auth[Role.viewer]).json()["items"]
    assert alert["silence_id"] == 1


def test_a_weekly_silence_reads_days_and_hours_as_people_write_them(cli_database) -> None:
    made = silence(
        "add",
        "--match",
        "env=prod",
        "--weekly",
        "周六,周日 22:00-06:00",
        "--until",
        "2099-01-01 00:00",
        "--long",
        "--reason",
        "周末变更窗口",
    )
    assert made.exit_code == 0, made.output
    assert "weekdays 6,7 22:00–06:00" in made.output


def test_refusals_name_the_flag(cli_database) -> None:
    cases = [
        (["--match", 'instance=~"db-("', "--for", "1h"], "--match: the regex does not compile"),
        (["--match", "env=prod", "--for", "2 weeks"], "--for: write a duration"),
        (["--match", "env=prod", "--for", "31d"], "--until: a silence of more than 30 days"),
        (["--match", "env=prod", "--for", "1h", "--weekly", "周八 02:00-04:00"], "--weekly"),
        (["--match", "env=prod", "--for", "1h", "--source", "nope"], "--source: no source"),
        (["--match", "env=prod"], "give one of --until and --for"),
    ]
    for args, message in cases:
        refused = silence("add", "--reason", "r", *args)
        assert refused.exit_code == 2, (args, refused.output)
        assert message in refused.output, refused.output
    assert silence("expire", "7").exit_code == 1
