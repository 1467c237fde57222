"""Alerts: posted to a real HTTP server on 127.0.0.1, retried on transient errors only, secrets never shown."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest

from core.config import AlertsConfig, ConfigError, parse_config
from orchestration.alerts import (
    SIGNATURE_HEADER,
    Alert,
    AlertConfigError,
    AlertDeliveryError,
    Notifier,
    run_failed_alert,
)
from tests.support.webhook import SECRET_PATH, webhook


def _config(*destinations: dict, **kwargs) -> AlertsConfig:
    return AlertsConfig.model_validate({"destinations": list(destinations), "backoff_seconds": 0.5, **kwargs})


ALERT = Alert(kind="run_failed", title="pmw: run 1234abcd failed", text="step failed: product_metrics_dbt")


def test_a_slack_webhook_gets_the_alert_as_text():
    with webhook() as (url, receiver):
        notifier = Notifier(_config({"kind": "slack", "url_env": "HOOK"}), environ={"HOOK": url})
        assert notifier.send(ALERT) == ["slack ($HOOK)"]
    [request] = receiver.requests
    assert request["path"] == SECRET_PATH
    assert json.loads(request["body"]) == {"text": "*pmw: run 1234abcd failed*\nstep failed: product_metrics_dbt"}


def test_a_generic_webhook_gets_json_signed_with_the_secret_from_the_environment():
    with webhook() as (url, receiver):
        config = _config({"kind": "webhook", "url_env": "HOOK", "secret_env": "HOOK_SECRET"})
        Notifier(config, environ={"HOOK": url, "HOOK_SECRET": "k3y"}).send(ALERT)
    [request] = receiver.requests
    body = json.loads(request["body"])
    assert (body["kind"], body["title"], body["text"]) == (ALERT.kind, ALERT.title, ALERT.text)
    expected = "sha256=" + hmac.new(b"k3y", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"][SIGNATURE_HEADER.lower()] == expected


def test_transient_errors_are_retried_with_backoff_then_delivered(caplog):
    waits: list[float] = []
    with webhook([503, 500, 429]) as (url, receiver):
        notifier = Notifier(_config({"kind": "slack", "url_env": "HOOK"}), environ={"HOOK": url}, sleep=waits.append)
        with caplog.at_level(logging.INFO, logger="pmw.alerts"):
            notifier.send(ALERT)
    assert len(receiver.requests) == 4
    assert waits == [0.5, 1.0, 2.0]
    assert SECRET_PATH not in caplog.text and "127.0.0.1" not in caplog.text


def test_retry_after_of_a_429_is_honoured():
    waits: list[float] = []
    with webhook([429], retry_after="3") as (url, _receiver):
        Notifier(_config({"kind": "slack", "url_env": "HOOK"}), environ={"HOOK": url}, sleep=waits.append).send(ALERT)
    assert waits == [3.0]


def test_retries_are_bounded_and_the_error_names_the_destination_not_the_url():
    waits: list[float] = []
    with webhook([503] * 10) as (url, receiver):
        notifier = Notifier(
            _config({"kind": "slack", "url_env": "HOOK"}, max_attempts=3), environ={"HOOK": url}, sleep=waits.append
        )
        with pytest.raises(AlertDeliveryError) as exc:
            notifier.send(ALERT)
    assert len(receiver.requests) == 3 and len(waits) == 2
    assert "slack ($HOOK) failed 3 times: HTTP 503" in str(exc.value)
    assert SECRET_PATH not in str(exc.value)


def test_a_client_error_is_not_retried_and_other_destinations_still_get_the_alert():
    with webhook([404]) as (bad_url, bad), webhook() as (good_url, good):
        config = _config({"kind": "slack", "url_env": "BAD"}, {"kind": "webhook", "url_env": "GOOD"})
        notifier = Notifier(config, environ={"BAD": bad_url, "GOOD": good_url}, sleep=lambda _s: None)
        with pytest.raises(AlertDeliveryError, match=r"slack \(\$BAD\) rejected it: HTTP 404"):
            notifier.send(ALERT)
    assert len(bad.requests) == 1 and len(good.requests) == 1


def test_a_refused_connection_is_transient_and_bounded():
    with webhook() as (url, _receiver):
        pass  # the server is gone: connections are refused
    waits: list[float] = []
    notifier = Notifier(_config({"kind": "slack", "url_env": "HOOK"}), environ={"HOOK": url}, sleep=waits.append)
    with pytest.raises(AlertDeliveryError, match="failed 4 times: URLError"):
        notifier.send(ALERT)
    assert waits == [0.5, 1.0, 2.0]


def test_an_unset_variable_is_a_named_error_before_anything_is_sent():
    with webhook() as (url, receiver):
        config = _config({"kind": "webhook", "url_env": "GOOD"}, {"kind": "slack", "url_env": "PMW_UNSET_HOOK"})
        with pytest.raises(AlertConfigError, match=r"\$PMW_UNSET_HOOK is not set"):
            Notifier(config, environ={"GOOD": url}).send(ALERT)
    assert receiver.requests == []


def test_the_configuration_takes_variable_names_never_urls_or_secrets(tmp_path):
    raw = {"alerts": {"destinations": [{"kind": "slack", "url_env": "https://hooks.slack.com/services/T/B/x"}]}}
    with pytest.raises(ConfigError) as exc:
        parse_config(raw, tmp_path / "pmw.yml")
    assert "alerts.destinations[0].url_env: a URL is not an environment variable name" in str(exc.value)
    assert "hooks.slack.com" not in str(exc.value)
    raw = {"alerts": {"destinations": [{"kind": "slack", "url_env": "HOOK", "secret_env": "S"}]}}
    with pytest.raises(ConfigError, match=r"alerts.destinations\[0\].secret_env: only a generic webhook"):
        parse_config(raw, tmp_path / "pmw.yml")


def test_a_run_failure_with_failed_gates_is_a_gate_alert():
    alert = run_failed_alert(
        "abcdef0123456789",
        "pmw_pipeline",
        "Execution of run failed.",
        ["raw__analytics_raw_analytics_events_gate"],
        [{"asset": "raw/analytics", "check": "raw_analytics_events_gate", "description": "2 of 9 failed"}],
    )
    assert alert.kind == "gate_failed"
    assert "check failed: raw/analytics / raw_analytics_events_gate: 2 of 9 failed" in alert.text
    assert alert.title == "pmw: 1 gate(s) failed in run abcdef01; nothing new published"
