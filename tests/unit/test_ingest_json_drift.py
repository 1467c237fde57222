"""Schema drift of JSON sources, reported like a CSV header's: a top-level key outside the vendor's documented record
loads nothing but is listed in the file's manifest record (``unknown_columns``), its ingest line and the summary; an
optional key the parser reads that no record carries is listed in ``missing_columns``. Real exports are checked not
to flag keys their vendor documents."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

import ingest.analytics.load as analytics_load
from core.config import PipelineConfig, parse_config
from core.settings import PROJECT_ROOT, Paths, get_paths
from ingest.analytics import ingest_analytics
from ingest.analytics.sql import KEY_CHECK_FILE_LINES, KEY_CHECK_MEMBER_LINES
from ingest.billing import ingest_billing
from ingest.common.manifest import read_manifest_record
from ingest.common.report import LOADED, FileResult, IngestReport
from ingest.feedback import ingest_feedback
from ingest.jira import ingest_jira
from pmw.summary import build_summary, format_summary

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
# /work/shared/fixtures beside the main checkout (PROJECT_ROOT.parent) or beside a folder of worktrees.
SHARED_FIXTURES = next(
    (root / "shared" / "fixtures" for root in (PROJECT_ROOT.parent, PROJECT_ROOT.parent.parent)
     if (root / "shared" / "fixtures").is_dir()),
    PROJECT_ROOT.parent / "shared" / "fixtures",
)  # fmt: skip


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return get_paths(tmp_path / "data").ensure()


@pytest.fixture
def config() -> PipelineConfig:
    raw = {
        "analytics": {"mixpanel_project_timezone": "UTC"},
        "finance": {"reporting_currency": "USD", "fx_rates": {"USD": "1", "EUR": "1.0850"}},
        "jira": {"csv_timezone": "Europe/Paris"},
    }
    return parse_config(raw, Path("test-pmw.yml"))


def land(paths: Paths, source: str, name: str, data: Any) -> Path:
    target = paths.landing / source / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, Path):
        shutil.copyfile(data, target)
    elif isinstance(data, bytes):
        target.write_bytes(data)
    else:
        target.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return target


def shared(name: str) -> Path:
    path = SHARED_FIXTURES / name
    if not path.exists():
        pytest.skip(f"real export {path} is absent (see /work/shared/fixtures/SOURCES.txt)")
    return path


def drift(paths: Paths, report: IngestReport, name: str) -> tuple[list[str], list[str]]:
    """The file loaded; (unknown_columns, missing_columns) as its manifest record and its result both say."""
    (result,) = [r for r in report.results if r.relative_path and r.relative_path.endswith(name)]
    assert result.status == LOADED, result.error
    assert result.rows_in == result.rows_loaded + result.rows_rejected + result.rows_skipped
    record = read_manifest_record(paths, report.source, result.sha256)
    assert (record["unknown_columns"], record["missing_columns"]) == (result.unknown_columns, result.missing_columns)
    return result.unknown_columns, result.missing_columns


def single(report: IngestReport) -> FileResult:
    (result,) = report.results
    return result


# -- Stripe API lists ---------------------------------------------------------------------------------------------


def stripe_customer(customer_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": customer_id, "object": "customer", "email": f"{customer_id}@example.com", "created": 1704067200,
        "currency": "usd", "address": {"country": "us"}, "metadata": {}, "livemode": False, **extra,
    }  # fmt: skip


def test_stripe_object_with_an_extra_key_loads_and_lists_it(paths, config):
    document = {
        "object": "list",
        "data": [stripe_customer("cus_A", loyalty_tier="gold"), stripe_customer("cus_B", risk_score=3)],
        "has_more": False,
    }
    land(paths, "billing", "customers.json", document)
    report = ingest_billing(paths, config)

    assert drift(paths, report, "customers.json") == (["loyalty_tier", "risk_score"], [])
    assert single(report).rows_loaded == 2
    assert "[columns not read: loyalty_tier, risk_score]" in single(report).describe()
    assert "columns not read (not loaded) in billing/customers.json: loyalty_tier, risk_score" in format_summary(
        build_summary(paths)
    )


def test_stripe_optional_key_absent_from_every_object_is_missing(paths, config):
    customers = [{k: v for k, v in stripe_customer(c).items() if k != "address"} for c in ("cus_A", "cus_B")]
    land(paths, "billing", "customers.json", {"object": "list", "data": customers, "has_more": False})

    assert drift(paths, ingest_billing(paths, config), "customers.json") == ([], ["address"])


@pytest.mark.parametrize(
    "sample", ["customers_api.json", "subscriptions_api.json", "invoices_api.json", "refunds_api.json"]
)
def test_stripe_api_fixtures_flag_no_documented_key(paths, config, sample):
    # customers_api.json also holds a charge (rejected as not a billing object): its keys are not checked.
    land(paths, "billing", sample, FIXTURES / "billing" / sample)

    assert drift(paths, ingest_billing(paths, config), sample) == ([], [])


# -- Zendesk and Delighted ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample", ["faros_tickets.json", "faros_satisfaction_ratings.json", "faros_ticket_fields.json"]
)
def test_real_zendesk_exports_flag_no_documented_key(paths, config, sample):
    land(paths, "feedback", sample, shared(f"zendesk_api/{sample}"))

    assert drift(paths, ingest_feedback(paths, config), sample) == ([], [])


def test_zendesk_ticket_with_an_extra_key_lists_it(paths, config):
    tickets = json.loads(shared("zendesk_api/faros_tickets.json").read_text(encoding="utf-8"))
    tickets["tickets"][0]["ai_sentiment"] = "positive"  # on a support ticket: skipped, but its keys still count
    land(paths, "feedback", "tickets.json", tickets)

    assert drift(paths, ingest_feedback(paths, config), "tickets.json") == (["ai_sentiment"], [])


def test_zendesk_satisfaction_rating_with_an_extra_key_lists_it(paths, config):
    ratings = json.loads(shared("zendesk_api/faros_satisfaction_ratings.json").read_text(encoding="utf-8"))
    for rating in ratings["satisfaction_ratings"]:
        rating["channel"] = "email"
    land(paths, "feedback", "ratings.json", ratings)

    assert drift(paths, ingest_feedback(paths, config), "ratings.json") == (["channel"], [])


def test_delighted_fixture_flags_nothing_and_an_extra_key_is_listed(paths, config):
    responses = json.loads((FIXTURES / "feedback" / "delighted_responses.json").read_text(encoding="utf-8"))
    land(paths, "feedback", "delighted.json", responses)
    assert drift(paths, ingest_feedback(paths, config), "delighted.json") == ([], [])

    responses[1]["nps_segment"] = "promoter"
    land(paths, "feedback", "delighted_more.json", responses)
    report = ingest_feedback(paths, config)
    assert drift(paths, report, "delighted_more.json") == (["nps_segment"], [])


def test_delighted_without_comments_lists_comment_as_missing(paths, config):
    responses = json.loads((FIXTURES / "feedback" / "delighted_responses.json").read_text(encoding="utf-8"))
    land(paths, "feedback", "delighted.json", [{k: v for k, v in r.items() if k != "comment"} for r in responses])

    assert drift(paths, ingest_feedback(paths, config), "delighted.json") == ([], ["comment"])


# -- Jira REST ----------------------------------------------------------------------------------------------------


def jira_issue(key: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": key.rsplit("-", 1)[1], "key": key, "self": f"https://x.atlassian.net/rest/api/2/issue/{key}",
        "fields": {"summary": "A", "created": "2024-03-01T10:00:00.000+0000", "customfield_19999": "anything",
                   "some_app_field": {"x": 1}},
        "changelog": {"startAt": 0, "maxResults": 0, "total": 0, "histories": []},
        **extra,
    }  # fmt: skip


def test_jira_issue_with_an_extra_top_level_key_lists_it_but_not_its_fields(paths, config):
    document = {"startAt": 0, "maxResults": 2, "total": 2,
                "issues": [jira_issue("PROD-1", watchers_count=3), jira_issue("PROD-2")]}  # fmt: skip
    land(paths, "jira", "search.json", document)

    # customfield_19999 and some_app_field sit in `fields`, where every field of the site may appear: not unknown
    assert drift(paths, ingest_jira(paths, config), "search.json") == (["watchers_count"], [])


def test_jira_issues_without_changelog_list_it_as_missing(paths, config):
    issues = [{k: v for k, v in jira_issue(key).items() if k != "changelog"} for key in ("PROD-1", "PROD-2")]
    land(paths, "jira", "search.json", {"startAt": 0, "maxResults": 2, "total": 2, "issues": issues})

    assert drift(paths, ingest_jira(paths, config), "search.json") == ([], ["changelog"])


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("jira_api/faros_issues_with_changelog.json", ([], [])),
        # Airbyte's Jira source adds projectId / projectKey beside Jira's own keys: real drift, reported.
        ("jira_api/faros_cloud_issues_airbyte_unwrapped.json", (["projectId", "projectKey"], [])),
        ("jira_api/faros_cloud_field_catalog.json", ([], [])),
        ("jira_api/faros_cloud_sprints.json", ([], [])),
        ("jira_api/gojira_agile_sprints.json", ([], [])),
    ],
)
def test_real_jira_exports_report_only_what_jira_does_not_document(paths, config, sample, expected):
    land(paths, "jira", Path(sample).name, shared(sample))

    assert drift(paths, ingest_jira(paths, config), Path(sample).name) == expected


def test_jira_status_catalog_fixture_lacks_untranslated_names(paths, config):
    land(paths, "jira", "statuses.json", FIXTURES / "jira" / "faros_cloud_status_catalog.json")

    # this catalog has no untranslatedName: statuses.untranslated_name loads NULL, and the manifest says why
    assert drift(paths, ingest_jira(paths, config), "statuses.json") == ([], ["untranslatedName"])


# -- analytics JSON lines (keys collected in the DuckDB SQL) --------------------------------------------------------


def amplitude_event(uuid: str, **extra: Any) -> dict[str, Any]:
    return {
        "uuid": uuid, "$insert_id": f"i-{uuid}", "event_type": "page_viewed", "user_id": "u1", "device_id": "d1",
        "session_id": 1709630102000, "event_time": "2024-03-05 09:15:02.123456",
        "server_received_time": "2024-03-05 09:15:03.000000", "server_upload_time": "2024-03-05 09:15:04.000000",
        "event_properties": {"page": "/home", "anything": 1}, "user_properties": {"plan": "pro"},
        "platform": "Web", "country": "United States", "amplitude_id": 99, "app": 1234, "data": {},
        "device_carrier": None, "dma": None, "is_attribution_event": False, "user_creation_time": None, **extra,
    }  # fmt: skip


def jsonl(records: list[Any]) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def test_amplitude_line_with_an_extra_key_loads_and_lists_it(paths, config):
    lines = [amplitude_event("a-1"), amplitude_event("a-2", experiment="B", zeta=1), amplitude_event("a-3")]
    land(paths, "analytics", "amp.json.gz", gzip.compress(jsonl(lines).encode()))
    report = ingest_analytics(paths, config)

    assert drift(paths, report, "amp.json.gz") == (["experiment", "zeta"], [])
    assert single(report).rows_loaded == 3


def test_amplitude_optional_key_on_no_line_is_missing_and_bad_lines_do_not_count(paths, config):
    without_country = [{k: v for k, v in amplitude_event(f"a-{n}").items() if k != "country"} for n in range(3)]
    lines = [*without_country, "not json", [1, 2], amplitude_event("bad", event_type="", surplus=1)]
    land(paths, "analytics", "amp.jsonl", jsonl(lines))
    report = ingest_analytics(paths, config)

    # the rejected object line's extra key is still seen; only loaded lines decide what is missing
    assert drift(paths, report, "amp.jsonl") == (["surplus"], ["country"])
    assert (single(report).rows_loaded, single(report).rows_rejected) == (3, 3)


def test_mixpanel_extra_top_level_key_is_listed_but_properties_are_data(paths, config):
    def event(n: int, **extra: Any) -> dict[str, Any]:
        properties = {"time": 1709630102 + n, "distinct_id": "u1", "$insert_id": f"m-{n}", "custom_prop": n}
        return {"event": "page_viewed", "properties": properties, **extra}

    land(paths, "analytics", "mp.jsonl", jsonl([event(1), event(2, mp_meta={"x": 1}), "terminated early"]))

    assert drift(paths, ingest_analytics(paths, config), "mp.jsonl") == (["mp_meta"], [])


def test_amplitude_lines_without_drift_report_nothing(paths, config):
    land(paths, "analytics", "amp.jsonl", jsonl([amplitude_event(f"a-{n}") for n in range(5)]))

    assert drift(paths, ingest_analytics(paths, config), "amp.jsonl") == ([], [])


def amplitude_zip(members: list[list[dict[str, Any]]]) -> bytes:
    """An Amplitude Export API ZIP: one gzipped hourly member per list of events, in order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for hour, events in enumerate(members):
            archive.writestr(f"1234/1234_2024-03-05_{hour}#0.json.gz", gzip.compress(jsonl(events).encode()))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "reading",
    ["one batch", "a batch per member", "member by member"],
)
def test_amplitude_member_that_drifts_after_the_files_first_lines_is_reported(paths, config, monkeypatch, reading):
    # Hourly members of 400 lines: the 4th member starts at line 1,201 of the file, past its first
    # KEY_CHECK_FILE_LINES lines. Its events carry a new key (a tracking-plan release at that hour) and lack one the
    # parser reads: the first KEY_CHECK_MEMBER_LINES lines of each member are checked, so the drift is seen.
    assert KEY_CHECK_FILE_LINES < 3 * 400 and KEY_CHECK_MEMBER_LINES < 400
    if reading == "a batch per member":
        monkeypatch.setattr(analytics_load, "_BATCH_MEMBERS", 1)
    elif reading == "member by member":  # as if DuckDB refused every batch: each member through the unit path
        monkeypatch.setattr(analytics_load._FileLoader, "_copy_batch", lambda *_args: False)
    members = [[amplitude_event(f"h{hour}-{n}") for n in range(400)] for hour in range(3)]
    members.append([amplitude_event(f"h3-{n}", experiment_arm="B") for n in range(400)])
    # ...and a key that only appears on line 200 of the 5th member: outside the sample, not reported
    members.append([amplitude_event(f"h4-{n}", **({"late_key": 1} if n == 199 else {})) for n in range(400)])
    land(paths, "analytics", "export.zip", amplitude_zip(members))
    report = ingest_analytics(paths, config)

    assert drift(paths, report, "export.zip") == (["experiment_arm"], [])
    assert single(report).rows_loaded == 2000


def test_amplitude_optional_key_absent_from_a_later_member_is_not_missing_from_the_file(paths, config):
    # missing_columns lists a key no checked loaded line of the file carries: the earlier members do carry country
    members = [[amplitude_event(f"h{hour}-{n}") for n in range(400)] for hour in range(3)]
    members.append([{k: v for k, v in amplitude_event(f"h3-{n}").items() if k != "country"} for n in range(400)])
    land(paths, "analytics", "export.zip", amplitude_zip(members))

    assert drift(paths, ingest_analytics(paths, config), "export.zip") == ([], [])


def test_amplitude_plain_file_checks_its_first_lines_only(paths, config):
    # One unit: the sample is its first KEY_CHECK_FILE_LINES lines.
    lines = [amplitude_event(f"a-{n}") for n in range(KEY_CHECK_FILE_LINES + 5)]
    lines[KEY_CHECK_FILE_LINES - 1] = amplitude_event("last-checked", seen_key=1)
    lines[KEY_CHECK_FILE_LINES] = amplitude_event("first-unchecked", unseen_key=1)
    land(paths, "analytics", "amp.jsonl", jsonl(lines))

    assert drift(paths, ingest_analytics(paths, config), "amp.jsonl") == (["seen_key"], [])
