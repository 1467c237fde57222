"""Tell someone: failed runs, failed gates, stale sources, volume anomalies and restated numbers, posted to the
webhooks configured under `alerts:`.

Two kinds of destination: a Slack-compatible incoming webhook (``{"text": ...}``; Mattermost and Rocket.Chat take
the same body) and a generic JSON webhook (the alert as an object, optionally signed with HMAC-SHA256 in
``X-PMW-Signature: sha256=<hex>``). The configuration names the environment variables that hold the URL and the
secret; neither is ever written to the configuration, the logs or an exception message (a destination is named by
its kind and variable, e.g. ``slack ($PMW_SLACK_WEBHOOK_URL)``).

Delivery is retried on transient errors only (connection errors, timeouts, HTTP 429 and 5xx), at most
``max_attempts`` times with doubling backoff (a 429's Retry-After is honoured, capped); any other HTTP error fails
at once. Every destination is tried; if any failed, ``AlertDeliveryError`` names each failure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.config import AlertDestination, AlertsConfig
from publish.restatements import describe_change

LOG = logging.getLogger("pmw.alerts")
ALERT_KINDS = ("run_failed", "gate_failed", "source_stale", "volume_anomaly", "restatement")
SIGNATURE_HEADER = "X-PMW-Signature"
MAX_RETRY_AFTER_SECONDS = 60.0
_TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class AlertError(RuntimeError):
    """An alert could not be sent."""


class AlertConfigError(AlertError):
    """A configured destination cannot be used: its environment variable is not set."""


class AlertDeliveryError(AlertError):
    """One or more destinations did not accept the alert (after retries, for transient errors)."""


@dataclass(frozen=True)
class Alert:
    kind: str  # one of ALERT_KINDS
    title: str  # one line
    text: str  # a few lines a person can act on
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ALERT_KINDS:
            raise ValueError(f"alert kind {self.kind!r} is not one of {', '.join(ALERT_KINDS)}")


def describe(destination: AlertDestination) -> str:
    """How a destination appears in logs and errors: its kind and variable, never the URL."""
    return f"{destination.kind} (${destination.url_env})"


def _body(destination: AlertDestination, alert: Alert, sent_at: datetime) -> bytes:
    if destination.kind == "slack":
        payload: dict[str, Any] = {"text": f"*{alert.title}*\n{alert.text}"}
    else:
        payload = {**asdict(alert), "details": dict(alert.details), "sent_at": sent_at.isoformat()}
    return json.dumps(payload, sort_keys=True, default=str).encode("utf-8")


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class _Rejected(Exception):
    pass


def _retry_after(value: str | None) -> float | None:
    try:
        return min(float(value), MAX_RETRY_AFTER_SECONDS) if value is not None else None
    except ValueError:  # an HTTP date instead of seconds: fall back to the backoff
        return None


class Notifier:
    """Posts alerts to every configured destination. ``environ`` and ``sleep`` are parameters for the tests."""

    def __init__(
        self,
        config: AlertsConfig,
        *,
        environ: Mapping[str, str] = os.environ,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._config = config
        self._environ = environ
        self._sleep = sleep

    @property
    def destinations(self) -> tuple[AlertDestination, ...]:
        return self._config.destinations

    def send(self, alert: Alert) -> list[str]:
        """Post ``alert`` to every destination; the destinations that accepted it. Raises AlertConfigError before
        sending anything when a destination's variable is unset, AlertDeliveryError when any destination failed."""
        targets = [(d, self._url(d)) for d in self.destinations]
        if not targets:
            LOG.warning(f"alert not sent, no destination configured (alerts.destinations): {alert.title}")
            return []
        sent_at = datetime.now(UTC)
        delivered, failures = [], []
        for destination, url in targets:
            try:
                self._post(destination, url, _body(destination, alert, sent_at))
            except AlertDeliveryError as exc:
                failures.append(str(exc))
                continue
            delivered.append(describe(destination))
            LOG.info(f"alert {alert.kind} sent to {describe(destination)}: {alert.title}")
        if failures:
            raise AlertDeliveryError(f"alert {alert.kind!r} not delivered: " + "; ".join(failures))
        return delivered

    def _url(self, destination: AlertDestination) -> str:
        url = self._environ.get(destination.url_env, "").strip()
        if not url:
            raise AlertConfigError(
                f"alerts: {describe(destination)} is configured but ${destination.url_env} is not set"
            )
        if not url.startswith(("https://", "http://")):
            raise AlertConfigError(f"alerts: ${destination.url_env} does not hold an http(s) URL")
        return url

    def _post(self, destination: AlertDestination, url: str, body: bytes) -> None:
        headers = {"Content-Type": "application/json", "User-Agent": "product-metrics-warehouse-alerts"}
        if destination.secret_env:
            secret = self._environ.get(destination.secret_env, "")
            if not secret:
                raise AlertConfigError(f"alerts: {describe(destination)} signs with ${destination.secret_env}, unset")
            headers[SIGNATURE_HEADER] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        attempts = self._config.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                self._attempt(url, body, headers)
                return
            except _Rejected as exc:
                raise AlertDeliveryError(f"{describe(destination)} rejected it: {exc}") from None
            except _Transient as exc:
                if attempt == attempts:
                    raise AlertDeliveryError(f"{describe(destination)} failed {attempts} times: {exc}") from None
                wait = exc.retry_after
                if wait is None:
                    wait = self._config.backoff_seconds * 2 ** (attempt - 1)
                LOG.warning(f"alert to {describe(destination)}: {exc}; retry {attempt + 1}/{attempts} in {wait:.1f}s")
                self._sleep(wait)

    def _attempt(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._config.timeout_seconds) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code} {exc.reason}"
            if exc.code in _TRANSIENT_STATUS:
                raise _Transient(reason, _retry_after(exc.headers.get("Retry-After"))) from None
            raise _Rejected(reason) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            # URLError's reason is the socket error (refused, timed out, DNS), never the URL itself.
            raise _Transient(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from None


def run_failed_alert(run_id: str, job: str, message: str, failed_steps: list[str], failed_checks: list[dict]) -> Alert:
    gate_failures = [c for c in failed_checks if c.get("check", "").endswith("_gate")]
    kind = "gate_failed" if gate_failures else "run_failed"
    lines = [f"run {run_id} of {job} failed: {message}".strip()]
    lines += [
        f"check failed: {c['asset']} / {c['check']}: {c.get('description') or ''}".rstrip() for c in failed_checks
    ]
    lines += [f"step failed: {s}" for s in failed_steps]
    lines.append("The previous publication is still served. `pmw summary` shows what was loaded and checked.")
    title = (
        f"pmw: {len(gate_failures)} gate(s) failed in run {run_id[:8]}; nothing new published"
        if gate_failures
        else f"pmw: run {run_id[:8]} of {job} failed"
    )
    return Alert(
        kind=kind,
        title=title,
        text="\n".join(lines),
        details={"run_id": run_id, "job": job, "failed_steps": failed_steps, "failed_checks": failed_checks},
    )


def volume_alert(run_id: str, anomalies: list[dict[str, Any]]) -> Alert:
    """Counts out of their band (expectations/volume.py): each names its source table and day (or its mart), the
    expected band and the observed count; ``anomalies`` are the asset checks' results, with their severity."""
    blocking = [a for a in anomalies if a["severity"] == "block"]
    lines = [a["description"] for a in anomalies]
    lines.append(
        "Publication is held: the previous release stays served until the counts are back in band."
        if blocking
        else "Published anyway (severity warn). `pmw summary` lists every volume verdict."
    )
    subjects = ", ".join(a["subject"] for a in anomalies)
    return Alert(
        kind="volume_anomaly",
        title=f"pmw: volume out of band in run {run_id[:8]}: {subjects}"
        + ("; nothing new published" if blocking else ""),
        text="\n".join(lines),
        details={"run_id": run_id, "anomalies": anomalies},
    )


def restatements_alert(run_id: str, release_id: str, restatements: dict[str, Any]) -> Alert:
    """Closed-period headline numbers the new release changed (publish/restatements.py): a warning, the release is
    served; each line names the number, old and new value and the landed files behind it."""
    changes = restatements["changes"]
    lines = [describe_change(c) for c in changes]
    lines.append(f"Release {release_id} is served; `pmw summary` and report.html list the restated numbers.")
    return Alert(
        kind="restatement",
        title=f"pmw: {len(changes)} closed-period number(s) restated since release {restatements['compared_with']}",
        text="\n".join(lines),
        details={"run_id": run_id, "release_id": release_id, "changes": changes},
    )
