"""`stabilog regulatory` and `--trigger`: the register and a report recorded from a shell."""

from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


def test_a_ticked_trigger_from_the_shell_opens_a_report_that_is_then_recorded(
    cli_database,
) -> None:
    filed = runner.invoke(
        app,
        [
            "incident", "file", "--title", "客户信息泄露", "--detected-at", "2023-09-07 10:00",
            "--trigger", "personal_data_leak",
        ],
    )  # fmt: skip
    assert filed.exit_code == 0, filed.output
    assert "(A: regulatory: personal_data_leak" in filed.output

    listed = runner.invoke(app, ["regulatory", "list"])
    assert listed.exit_code == 0, listed.output
    line = listed.stdout.splitlines()[0]
    report_id = line.split("\t")[0]
    assert "\tA\tdue 2023-09-07 12:00\toverdue " in line
    assert "\tpersonal_data_leak\t客户信息泄露" in line

    recorded = runner.invoke(
        app,
        [
            "regulatory", "record", report_id, "--channel", "email", "--reference", "R-1",
            "--reported-at", "2023-09-07 11:30",
        ],
    )  # fmt: skip
    assert recorded.exit_code == 0, recorded.output
    assert recorded.stdout.strip().endswith(": reported_on_time")
    assert "reported_on_time" in runner.invoke(app, ["regulatory", "list"]).stdout


def test_an_unknown_trigger_is_refused_naming_the_flag(cli_database) -> None:
    result = runner.invoke(
        app, ["incident", "file", "--title", "x", "--detected-at", "9/7 10:00", "--trigger", "y"]
    )
    assert result.exit_code == 2
    assert "--trigger: unknown regulatory trigger 'y'" in result.output


def test_explain_names_the_trigger_and_lists_the_policys_triggers() -> None:
    explained = runner.invoke(app, ["grading", "explain", "--trigger", "fund_safety"])
    assert explained.exit_code == 0, explained.output
    assert explained.stdout.splitlines()[:2] == [
        "grade: A",
        "  regulatory: fund_safety (重复结算或其他资金安全事件) → A",
    ]
    unknown = runner.invoke(app, ["grading", "explain", "--trigger", "nope"])
    assert unknown.exit_code == 2
    listed = runner.invoke(app, ["grading", "triggers"]).stdout.splitlines()
    assert (
        listed[0]
        == "interruption_over_2h\tcore_interruption_minutes_over 120\t支付业务中断超过2小时"
    )
    assert "personal_data_leak\tticked by a person\t个人信息泄露超过5000条或500户" in listed
