"""The configuration file: the shipped one loads; every bad value fails with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from core.config import ConfigError, load_config, parse_config
from core.settings import DBT_PROJECT_DIR, DEFAULT_CONFIG_PATH

HERE = Path("test.yml")


def _minimal(**overrides) -> dict:
    raw = {
        "analytics": {"known_events": ["a", "b", "c"]},
        "funnels": [{"name": "f", "steps": ["a", "b"]}],
        "retention": [{"name": "r", "start_event": "a", "return_event": "b"}],
    }
    raw.update(overrides)
    return raw


def test_shipped_configuration_loads_and_renders_dbt_vars():
    cfg = load_config(DEFAULT_CONFIG_PATH)
    names = [f.name for f in cfg.funnels]
    assert "activation" in names and "activation_any_entry" in names
    v = cfg.dbt_vars()
    activation = next(f for f in v["funnels"] if f["name"] == "activation")
    assert activation["entry_mode"] == "first_entry"
    assert activation["conversion_window_seconds"] == 168 * 3600
    assert [s["event"] for s in activation["steps"]] == [
        "signed_up",
        "onboarding_completed",
        "report_created",
        "plan_upgraded",
    ]
    sharing = next(f for f in v["funnels"] if f["name"] == "sharing")
    assert sharing["steps"][1]["filters"] == [{"property": "channel", "op": "in", "value": ("email", "link")}]
    # Every sample retention analysis is broken down by platform (the report's segment filter needs it).
    assert {r["name"]: r["breakdown_property"] for r in v["retention"]} == {
        "core_action_daily": "platform",
        "any_activity_weekly": "platform",
    }


def test_retention_breakdown_is_optional():
    cfg = parse_config(_minimal(), HERE)
    assert cfg.dbt_vars()["retention"][0]["breakdown_property"] is None


def test_string_steps_are_shorthand_for_event_only():
    cfg = parse_config(_minimal(), HERE)
    assert [s.event for s in cfg.funnels[0].steps] == ["a", "b"]
    assert cfg.funnels[0].entry_mode == "first_entry"


def test_simultaneous_events_defaults_to_same_second_and_reaches_dbt_vars():
    cfg = parse_config(
        _minimal(
            funnels=[
                {"name": "f", "steps": ["a", "b"]},
                {"name": "g", "steps": ["a", "b"], "simultaneous_events": "strict"},
            ]
        ),
        HERE,
    )
    assert [f["simultaneous_events"] for f in cfg.dbt_vars()["funnels"]] == ["same_second", "strict"]


def test_outcome_windows_resolve_per_initiative_into_dbt_vars():
    cfg = parse_config(
        _minimal(
            outcomes={"window_days": 14, "min_sample_size": 50},
            initiatives=[
                {"key": "P-1", "target_metric": {"type": "funnel_step", "funnel": "f", "step": 2}},
                {"key": "P-2", "window_days": 28, "target_metric": {"type": "revenue"}},
            ],
        ),
        HERE,
    )
    dbt_vars = cfg.dbt_vars()
    assert [i["window_days"] for i in dbt_vars["initiatives"]] == [14, 28]
    assert dbt_vars["outcome_min_sample_size"] == 50


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"funnels": [{"name": "f", "steps": ["a"]}]}, "funnels[0].steps: a funnel needs at least 2 steps, got 1"),
        ({"funnels": [{"name": "f", "steps": ["a", "zzz"]}]}, "funnels[0].steps[1].event: 'zzz' is not in"),
        ({"funnels": [{"name": "f", "steps": ["a", "b"], "entry_mode": "latest"}]}, "funnels[0].entry_mode: 'latest'"),
        (
            {"funnels": [{"name": "f", "steps": ["a", "b"], "simultaneous_events": "same_minute"}]},
            "funnels[0].simultaneous_events: 'same_minute'",
        ),
        ({"funnels": [{"name": "Bad-Name", "steps": ["a", "b"]}]}, "funnels[0].name: 'Bad-Name' is not a valid name"),
        (
            {
                "funnels": [
                    {"name": "f", "steps": [{"event": "a", "filters": [{"property": "x'; drop", "op": "eq"}]}, "b"]}
                ]
            },
            "funnels[0].steps[0].filters[0].property",
        ),
        (
            {
                "funnels": [
                    {
                        "name": "f",
                        "steps": [{"event": "a", "filters": [{"property": "p", "op": "eq", "value": "it's"}]}, "b"],
                    }
                ]
            },
            "funnels[0].steps[0].filters[0].value",
        ),
        (
            {
                "funnels": [
                    {
                        "name": "f",
                        "steps": [{"event": "a", "filters": [{"property": "p", "op": "in", "value": []}]}, "b"],
                    }
                ]
            },
            "op in needs a non-empty list",
        ),
        ({"funnels": [{"name": "f", "steps": ["a", "b"], "conversion_window_hours": 0}]}, "conversion_window_hours"),
        (
            {"funnels": [{"name": "f", "steps": ["a", "b"]}, {"name": "f", "steps": ["b", "c"]}]},
            "name 'f' is used more",
        ),
        (
            {"retention": [{"name": "r", "start_event": "a", "return_event": "b", "period": "month"}]},
            "retention[0].period",
        ),
        ({"retention": [{"name": "r", "start_event": "a", "return_event": "b", "periods": [1, 1]}]}, "repeated period"),
        (
            {"retention": [{"name": "r", "start_event": "a", "return_event": "b", "breakdown_property": "x'; drop"}]},
            "retention[0].breakdown_property",
        ),
        ({"analytics": {"known_events": ["a", "b"], "mixpanel_project_timezone": "Mars/Olympus"}}, "IANA timezone"),
        ({"analytics": {"known_events": ["a", "b"], "session_inactivity_minutes": 0}}, "session_inactivity_minutes"),
        ({"funnel": []}, "funnel: unknown key"),
        ({"finance": {"fx_rates": {"eur": "1.1"}}}, "finance.fx_rates.eur: 'eur' is not an upper-case ISO 4217"),
        ({"finance": {"fx_rates": {"EUR": 1.1e-30}}}, "finance.fx_rates.EUR"),
        ({"finance": {"gross_margin": "1.5"}}, "finance.gross_margin: 1.5 is outside [0, 1]"),
        ({"finance": {"reporting_currency": "EUR", "fx_rates": {"EUR": "1.2"}}}, "reporting currency's own rate"),
        ({"initiatives": [{"key": "not-a-key"}]}, "initiatives[0].key: 'not-a-key' is not a Jira issue key"),
        ({"initiatives": [{"key": "P-1", "adoption_events": ["zzz"]}]}, "initiatives[0].adoption_events[0]"),
        (
            {"initiatives": [{"key": "P-1", "target_metric": {"type": "funnel_step", "funnel": "nope", "step": 2}}]},
            "initiatives[0].target_metric.funnel: 'nope' is not a configured funnel",
        ),
        (
            {"initiatives": [{"key": "P-1", "target_metric": {"type": "funnel_step", "funnel": "f", "step": 3}}]},
            "initiatives[0].target_metric.step: funnel 'f' has 2 steps; got step 3",
        ),
        (
            {"initiatives": [{"key": "P-1", "target_metric": {"type": "funnel_step", "funnel": "f", "step": 1}}]},
            "initiatives[0].target_metric.step: expected an integer >= 2",
        ),
        (
            {"initiatives": [{"key": "P-1", "target_metric": {"type": "retention", "retention": "r"}}]},
            "initiatives[0].target_metric.period: required for a retention target metric",
        ),
        (
            {"initiatives": [{"key": "P-1", "target_metric": {"type": "retention", "retention": "x", "period": 7}}]},
            "initiatives[0].target_metric.retention: 'x' is not a configured retention analysis",
        ),
        (
            {"initiatives": [{"key": "P-1", "target_metric": {"type": "nps", "survey": "q"}}]},
            "initiatives[0].target_metric.survey: unknown key",
        ),
        ({"initiatives": [{"key": "P-1", "window_days": 0}]}, "initiatives[0].window_days: expected an integer >= 1"),
        ({"outcomes": {"window_days": 400}}, "outcomes.window_days: 400 days is more than 365"),
        ({"outcomes": {"min_sample_size": 1}}, "outcomes.min_sample_size: expected an integer >= 2"),
        ({"outcomes": {"windows": 3}}, "outcomes.windows: unknown key"),
        ({"jira": {"csv_locales": ["it"]}}, "jira.csv_locales[0]: 'it' is not a supported export language"),
        ({"jira": {"custom_fields": {"velocity": ["V"]}}}, "jira.custom_fields.velocity: unknown logical field"),
        (
            {"feedback": {"kano_features": [{"feature": "f", "functional_question": "Q?"}]}},
            "feedback.kano_features[0].dysfunctional_question",
        ),
        (
            {
                "feedback": {
                    "kano_features": [
                        {"feature": "f", "functional_question": "Q?", "dysfunctional_question": "Q?"},
                    ]
                }
            },
            "question 'Q?' is mapped more than once",
        ),
    ],
)
def test_bad_values_fail_with_the_key_named(overrides, message):
    with pytest.raises(ConfigError) as exc:
        parse_config(_minimal(**overrides), HERE)
    assert message in str(exc.value)
    assert "test.yml" in str(exc.value)


def test_all_problems_are_reported_at_once():
    raw = _minimal(funnels=[{"name": "f", "steps": ["a"], "entry_mode": "x"}])
    with pytest.raises(ConfigError) as exc:
        parse_config(raw, HERE)
    assert "entry_mode" in str(exc.value) and "at least 2 steps" in str(exc.value)


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "nope.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("funnels: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    good = tmp_path / "good.yml"
    good.write_text(yaml.safe_dump(_minimal()), encoding="utf-8")
    assert load_config(good).funnels[0].name == "f"


def test_an_empty_file_is_an_error_naming_it(tmp_path):
    for name, text in (("empty.yml", ""), ("comments.yml", "# funnels: to do\n")):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as exc:
            load_config(path)
        assert str(exc.value) == f"configuration file {path} is empty"


def test_a_key_written_twice_is_an_error_naming_it_instead_of_the_last_one_winning(tmp_path):
    path = tmp_path / "twice.yml"
    path.write_text(
        "analytics:\n  known_events: [a, b]\nfinance:\n  gross_margin: '0.80'\n  gross_margin: '0.60'\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    message = str(exc.value)
    assert message == f"configuration file {path}: duplicate key 'gross_margin' at line 5 (first written at line 4)"
    assert "\n" not in message


def test_every_default_comes_from_the_models_and_reaches_dbt_vars():
    defaults = parse_config({}, HERE)
    assert defaults.finance.gross_margin == "0.80"
    assert defaults.jira.story_points_per_person_month == 10.0
    dbt_vars = defaults.dbt_vars()
    assert dbt_vars["gross_margin"] == "0.80" and dbt_vars["jira_story_points_per_person_month"] == 10.0
    assert dbt_vars["outcome_min_sample_size"] == 30 and dbt_vars["session_inactivity_minutes"] == 30
    # A funnel's omitted keys take the same defaults as the models declare.
    funnel = parse_config(_minimal(), HERE).funnels[0]
    assert (funnel.entry_mode, funnel.conversion_window_hours, funnel.period) == ("first_entry", 168.0, "month")


def test_dbt_project_declares_no_default_for_a_var_the_configuration_provides():
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    assert set(project["vars"]) & set(parse_config({}, HERE).dbt_vars()) == set()


def test_the_configuration_is_frozen():
    cfg = parse_config(_minimal(), HERE)
    with pytest.raises(ValidationError):
        cfg.funnels[0].entry_mode = "any_entry"


def test_a_non_mapping_section_and_a_mistyped_list_are_named():
    with pytest.raises(ConfigError) as exc:
        parse_config(_minimal(analytics="x", funnels={"name": "f"}), HERE)
    assert "analytics: expected a mapping, got str" in str(exc.value)
    assert "funnels: expected a list, got dict" in str(exc.value)
