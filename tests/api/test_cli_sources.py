"""`stabilog source`: the printed URL is the one that accepts deliveries."""

from typer.testing import CliRunner

from api.cli import app
from tests.incidents.alerts.builders import fixture

runner = CliRunner()


def test_source_create_prints_the_webhook_url_last_and_it_works(cli_database, client) -> None:
    result = runner.invoke(app, ["source", "create", "--kind", "alertmanager", "--name", "prod-am"])
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    assert url.startswith("http://127.0.0.1:8000/api/v1/webhooks/alertmanager/")
    path = url.removeprefix("http://127.0.0.1:8000")
    assert client.post(path, content=fixture("alertmanager_firing.json")).status_code == 200

    assert runner.invoke(app, ["source", "disable", "1"]).exit_code == 0
    assert client.post(path, content=fixture("alertmanager_firing.json")).status_code == 404
    assert runner.invoke(app, ["source", "enable", "1"]).exit_code == 0
    rotated = runner.invoke(app, ["source", "rotate-key", "1"]).output.strip().splitlines()[-1]
    assert rotated != url
    assert client.post(path, content=fixture("alertmanager_firing.json")).status_code == 404


def test_source_create_refuses_a_signed_kind_without_its_secret(cli_database) -> None:
    result = runner.invoke(app, ["source", "create", "--kind", "jiankongbao", "--name", "jkb"])
    assert result.exit_code == 2
    assert "secret" in result.output
