"""Start-up checks of the application."""

import pytest

from api.main import create_app
from incidents.calendar import CalendarFileError
from incidents.grading import PolicyError
from incidents.settings import Settings


def test_a_malformed_grading_policy_stops_start_up_naming_the_line(tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text("[A]\nregulatory = true\n[B]\nfaild_min = 1000\n[C]\n[D]\n")
    with pytest.raises(PolicyError) as raised:
        create_app(Settings(database_url=f"sqlite:///{tmp_path}/x.db", grading_policy=policy))
    assert raised.value.line == 4
    assert "faild_min" in str(raised.value)


def test_a_malformed_calendar_file_stops_start_up_naming_the_line(tmp_path):
    team_file = tmp_path / "calendar.toml"
    team_file.write_text('[holidays]\n2023-10-07 = "团建"\n[working_days]\n2023-10-07 = ""\n')
    with pytest.raises(CalendarFileError) as raised:
        create_app(Settings(database_url=f"sqlite:///{tmp_path}/x.db", calendar_file=team_file))
    assert raised.value.line == 4
    assert str(raised.value) == (
        f"{team_file} line 4: 2023-10-07 is in [working_days] and in [holidays] (line 2)"
    )
