from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.grading import app

POLICY_ENV = "STABILOG_GRADING_POLICY"
# C from ten failed orders instead of the default hundred.
STRICT_POLICY = "[A]\nregulatory = true\n[B]\nfailed_min = 50\n[C]\nfailed_min = 10\n[D]\n"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # A developer's own policy in the environment must not change what these tests see.
    monkeypatch.delenv(POLICY_ENV, raising=False)
    return CliRunner()


@pytest.fixture
def strict_policy(tmp_path: Path) -> Path:
    policy_file = tmp_path / "strict.toml"
    policy_file.write_text(STRICT_POLICY, encoding="utf-8")
    return policy_file


def test_explain_grades_the_seed_incident_with_the_default_policy(runner: CliRunner) -> None:
    result = runner.invoke(app, ["explain", "--failed-orders", "545"])

    assert result.exit_code == 0
    assert result.stdout == (
        "grade: C\n  failed 545 ≥ 100 → C\npolicy: incidents/grading_policy.toml\n"
    )


def test_explain_lists_every_rule_that_fired(runner: CliRunner) -> None:
    args = ["explain", "--trigger", "fund_safety", "--core", "--impact-minutes", "75"]
    args += ["--amount", "6,000,000"]

    result = runner.invoke(app, args)

    assert result.exit_code == 0
    assert result.stdout.splitlines()[:4] == [
        "grade: A",
        "  regulatory: fund_safety (重复结算或其他资金安全事件) → A",
        "  amount ¥6,000,000 ≥ ¥5,000,000 → A",
        "  core impact 75 min ≥ 60 → A",
    ]


def test_explain_adds_orders_and_transactions(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["explain", "--failed-orders", "600", "--failed-transactions", "400"]
    )

    assert "  failed 1,000 ≥ 1,000 → B\n" in result.stdout


def test_explain_non_core_uses_non_core_thresholds(runner: CliRunner) -> None:
    result = runner.invoke(app, ["explain", "--non-core", "--impact-minutes", "60"])

    assert result.stdout.startswith("grade: C\n  non-core impact 60 min ≥ 30 → C\n")


def test_explain_without_business_impact_is_ungraded(runner: CliRunner) -> None:
    result = runner.invoke(app, ["explain", "--no-business-impact", "--failed-orders", "50000"])

    assert result.exit_code == 0
    assert result.stdout.startswith("grade: none (no business impact)\n")


def test_explain_infers_business_impact_from_quantities_as_filing_does(runner: CliRunner) -> None:
    without_quantities = runner.invoke(app, ["explain", "--core"])
    said_so = runner.invoke(app, ["explain", "--business-impact"])

    assert without_quantities.stdout.startswith("grade: none (no business impact)\n")
    assert said_so.stdout.startswith("grade: D\n  business impact, no higher rule → D\n")


def test_explain_uses_the_policy_option(runner: CliRunner, strict_policy: Path) -> None:
    result = runner.invoke(
        app, ["explain", "--failed-orders", "10", "--policy", str(strict_policy)]
    )

    assert result.exit_code == 0
    assert result.stdout == f"grade: C\n  failed 10 ≥ 10 → C\npolicy: {strict_policy}\n"


def test_explain_reads_the_policy_from_the_environment(
    runner: CliRunner, strict_policy: Path
) -> None:
    result = runner.invoke(
        app, ["explain", "--failed-orders", "50"], env={POLICY_ENV: str(strict_policy)}
    )

    assert result.stdout.startswith("grade: B\n  failed 50 ≥ 50 → B\n")


def test_explain_with_a_broken_policy_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[A]\n[B]\n[C]\n", encoding="utf-8")

    result = runner.invoke(app, ["explain", "--policy", str(broken)])

    assert result.exit_code == 1
    assert result.stderr == f"{broken}: grade D missing: add a [D]\n"


def test_explain_refuses_an_amount_that_is_not_money(runner: CliRunner) -> None:
    result = runner.invoke(app, ["explain", "--amount", "lots"])

    assert result.exit_code == 2
    assert "'lots' is not an amount in CNY" in result.output


def test_check_accepts_the_packaged_policy(runner: CliRunner) -> None:
    packaged = Path(__file__).parents[2] / "incidents" / "grading_policy.toml"

    result = runner.invoke(app, ["check", str(packaged)])

    assert result.exit_code == 0
    assert result.stdout == f"ok: {packaged}: grades A–D\n"


def test_check_names_the_line_of_a_mistake(runner: CliRunner, tmp_path: Path) -> None:
    typo = tmp_path / "typo.toml"
    typo.write_text(STRICT_POLICY.replace("[C]\nfailed_min", "[C]\nfailed_mni"), encoding="utf-8")

    result = runner.invoke(app, ["check", str(typo)])

    assert result.exit_code == 1
    assert result.stderr == (
        f"{typo} line 6: unknown field 'failed_mni' in [C]; did you mean 'failed_min'?\n"
    )


def test_check_of_a_missing_file_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path / "absent.toml")])

    assert result.exit_code == 1
    assert "absent.toml: cannot read" in result.stderr
