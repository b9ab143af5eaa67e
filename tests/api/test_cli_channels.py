"""`stabilog channel list`: says so when there is no channel, instead of printing nothing."""

from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


def test_channel_list_says_there_are_none_then_lists_the_one_added(cli_database) -> None:
    empty = runner.invoke(app, ["channel", "list"])
    assert empty.exit_code == 0
    assert empty.stdout == ""  # a script reading the lines reads none
    assert "no channels yet: add one with `stabilog channel add`" in empty.stderr
    added = runner.invoke(
        app,
        [
            *("channel", "add", "--kind", "slack", "--name", "oncall"),
            *("--url", "https://hooks.example/x", "--events", "incident"),
        ],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["channel", "list"])
    assert listed.stdout.startswith("1\tslack\toncall\tenabled\t")
    assert listed.stderr == ""
