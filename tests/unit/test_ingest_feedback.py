"""ingest/feedback: every layout detected from content (hand-written samples and the real Zendesk API samples), the
quarantine reasons, file-level failures, the manifest, idempotency, the lake contract and the no-raw-email rule."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.config import PipelineConfig, load_config
from core.settings import DEFAULT_CONFIG_PATH, PROJECT_ROOT, Paths, get_paths
from ingest.common import atomic
from ingest.common.identity import email_hash
from ingest.common.manifest import read_manifest_record
from ingest.common.report import ALREADY_LOADED, FAILED, LOADED, SKIPPED_DUPLICATE, IngestReport
from ingest.feedback import contract, ingest_feedback

OWN_SAMPLES = PROJECT_ROOT / "tests" / "fixtures" / "feedback"
ZENDESK_SAMPLES = PROJECT_ROOT.parent / "shared" / "fixtures" / "zendesk_api"
RAW_EMAILS = (
    "ann.smith@example.com",
    "bob@example.org",
    "carol@example.com",
    "frank@example.com",
    "gina@example.com",
    "ivy@example.com",
    "kim@example.com",
    "mia@example.com",
    "noa@example.com",
)


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return get_paths(tmp_path / "data").ensure()


@pytest.fixture(scope="module")
def config() -> PipelineConfig:
    return load_config(DEFAULT_CONFIG_PATH)


def land(paths: Paths, name: str, data: bytes | str | Path | Any) -> Path:
    target = paths.landing / "feedback" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, Path):
        shutil.copyfile(data, target)
    elif isinstance(data, bytes):
        target.write_bytes(data)
    elif isinstance(data, str):
        target.write_text(data, encoding="utf-8")
    else:
        target.write_text(json.dumps(data), encoding="utf-8")
    return target


def zendesk(name: str) -> Path:
    path = ZENDESK_SAMPLES / name
    if not path.exists():
        pytest.skip(f"real Zendesk sample {path} is absent (see /work/shared/fixtures/SOURCES.txt)")
    return path


def run(paths: Paths, config: PipelineConfig, **kwargs: Any) -> IngestReport:
    report = ingest_feedback(paths, config, **kwargs)
    for result in report.results:  # invariant 2, on every run of every test
        assert result.rows_in == result.rows_loaded + result.rows_rejected, result
    return report


def result_for(report: IngestReport, name: str):
    matches = [r for r in report.results if r.relative_path == f"feedback/{name}"]
    assert len(matches) == 1, report.results
    return matches[0]


def rows(paths: Paths, entity: str, where: str = "true") -> list[dict[str, Any]]:
    glob = paths.lake / "_pending" / "feedback" / entity / "*.parquet"
    rel = duckdb.sql(
        f"SELECT * FROM read_parquet('{glob}') WHERE {where} ORDER BY _source_file, _record_number, feature_name"
        if entity == "feature_requests"
        else f"SELECT * FROM read_parquet('{glob}') WHERE {where} ORDER BY _source_file, _record_number"
    )
    return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]


def quarantined(paths: Paths, sha256: str | None) -> list[tuple]:
    target = paths.quarantine_dir / "feedback" / f"{sha256}.parquet"
    return duckdb.sql(
        f"SELECT _record_number, entity, record_key, reason FROM read_parquet('{target}') ORDER BY _record_number, "
        "record_key"
    ).fetchall()


def schema(path: Path) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]


def load_one(paths: Paths, config: PipelineConfig, name: str, data: Any = None):
    land(paths, name, OWN_SAMPLES / name if data is None else data)
    return result_for(run(paths, config), name)


# ------------------------------------------------------------------------------------------------ surveys


def test_delighted_json_person_forms_properties_and_quarantine(paths, config):
    result = load_one(paths, config, "delighted_responses.json")
    assert (result.status, result.format, result.rows_in, result.rows_loaded, result.rows_rejected) == (
        LOADED,
        "delighted_json",
        5,
        2,
        3,
    )
    first, second = rows(paths, "survey_responses")
    assert first["response_id"] == "101" and first["respondent_id"] == "9001" and first["user_id"] == "u-42"
    assert first["respondent_email_hash"] == email_hash("ann.smith@example.com")  # trimmed and lower-cased
    assert (first["survey_type"], first["score"], first["scale_min"], first["scale_max"]) == ("nps", 9, 0, 10)
    assert first["responded_at"] == datetime(2024, 2, 3, 14, 0)  # epoch 1706968800
    assert json.loads(first["properties"]) == {
        "Delighted Source": "Email",
        "plan": "pro",
        "platform": "web",
        "tags": ["happy"],
    }
    assert first["comment"] == f"Love it, write to me at sha256:{email_hash('ann.smith@example.com')}"
    assert second["respondent_id"] == "9002" and second["respondent_email_hash"] is None
    assert quarantined(paths, result.sha256) == [
        (3, "survey_responses", "103", "score 11 is outside the 0-10 scale"),
        (4, "survey_responses", "104", "unparseable created_at 'yesterday'"),
        (5, "survey_responses", None, "missing id"),
    ]


def test_delighted_csv(paths, config):
    result = load_one(paths, config, "delighted_export.csv")
    assert (result.format, result.rows_loaded, result.rows_rejected) == ("delighted_csv", 2, 1)
    first = rows(paths, "survey_responses")[0]
    assert (first["response_id"], first["score"], first["user_id"]) == ("201", 10, "u-7")
    assert first["responded_at"] == datetime(2024, 2, 3, 14, 5, 12)
    assert json.loads(first["properties"]) == {"plan": "pro", "platform": "android", "tags": ["promoter", "vip"]}
    assert quarantined(paths, result.sha256) == [(3, "survey_responses", "203", "Score -1 is outside the 0-10 scale")]


def test_typeform_joined_multi_select_hidden_fields_and_bad_rows(paths, config):
    result = load_one(paths, config, "typeform_joined.csv")
    assert (result.format, result.rows_loaded, result.rows_rejected) == ("typeform_csv", 2, 2)
    first, second = rows(paths, "survey_responses")
    assert (first["response_id"], first["vendor"], first["survey_name"]) == ("tok1", "typeform", "typeform_joined")
    assert (first["score"], first["comment"], first["user_id"]) == (9, "Fast reports", "u-1")
    assert first["respondent_email_hash"] == email_hash("frank@example.com")
    assert json.loads(first["properties"]) == {"Which features do you use?": ["Reports", "Dashboards"], "plan": "pro"}
    assert json.loads(second["properties"])["Which features do you use?"] == ["Dashboards"]
    assert json.loads(second["properties"])["tags"] == ["churn-risk"]
    assert quarantined(paths, result.sha256) == [
        (
            3,
            "survey_responses",
            "tok3",
            "NPS score ('How likely are you to recommend us to a friend or colleague?') 12 is outside the 0-10 scale",
        ),
        (4, "survey_responses", "tok4", "unparseable Submit Date (UTC) '03/02/2024 25:99'"),
    ]


def test_typeform_split_multi_select_both_header_forms(paths, config):
    result = load_one(paths, config, "typeform_split.csv")
    assert (result.rows_loaded, result.rows_rejected) == (3, 0)
    key = "multi_select: Reports / Dashboards / Alerts"  # real exports name only the options
    assert [json.loads(r["properties"])[key] for r in rows(paths, "survey_responses")] == [
        ["Reports", "Alerts"],
        ["Dashboards"],
        [],
    ]
    assert any(key in note for note in result.notes)
    repeated = (
        "#,How likely are you to recommend us to a friend or colleague?,Which features do you use?,"
        "Which features do you use?,Submit Date (UTC),Network ID\n"
        "t1,8,Reports,,2024-02-06 10:01:00,n1\nt2,9,Reports,Alerts,2024-02-06 10:02:00,n2\n"
    )
    second = load_one(paths, config, "repeated.csv", repeated)
    found = rows(paths, "survey_responses", f"_file_sha256 = '{second.sha256}'")
    assert [json.loads(r["properties"]) for r in found] == [
        {"Which features do you use?": ["Reports"]},
        {"Which features do you use?": ["Reports", "Alerts"]},
    ]


def test_surveymonkey_two_header_rows(paths, config):
    result = load_one(paths, config, "surveymonkey_export.csv")
    assert (result.format, result.rows_loaded, result.rows_rejected) == ("surveymonkey_csv", 2, 1)
    first, second = rows(paths, "survey_responses")
    assert (first["response_id"], first["survey_type"], first["score"], first["scale_min"], first["scale_max"]) == (
        "11400001",
        "csat",
        4,
        1,
        5,
    )  # "4 - Satisfied"
    assert first["responded_at"] == datetime(2024, 2, 3, 14, 5, 12)  # End Date, 02:05:12 PM
    assert first["comment"] == "Works well"
    assert first["respondent_email_hash"] == email_hash("gina@example.com")
    assert json.loads(first["properties"]) == {
        "Collector ID": "4001",
        "Custom Data 1": "u-100",
        "Which of these do you use?": ["Reports", "Slack bot"],
    }
    assert second["score"] == 1  # "Very dissatisfied"
    assert quarantined(paths, result.sha256) == [
        (3, "survey_responses", "11400003", "CSAT score 6 is outside the 1-5 scale")
    ]
    assert "Gina" not in json.dumps(first, default=str)  # names and IP addresses are not segment fields


def test_generic_csat(paths, config):
    result = load_one(paths, config, "csat.csv")
    assert (result.format, result.rows_loaded, result.rows_rejected) == ("csat_csv", 2, 3)
    first, second = rows(paths, "survey_responses")
    assert (first["vendor"], first["score"], first["user_id"]) == ("generic", 5, "u-1")
    assert second["responded_at"] == datetime(2024, 2, 3, 14, 5, 12)  # +02:00 converted to UTC
    assert quarantined(paths, result.sha256) == [
        (3, "survey_responses", "c3", "score 0 is outside the 1-5 scale"),
        (4, "survey_responses", "c4", "unparseable responded_at 'not a date'"),
        (5, "survey_responses", None, "missing response_id"),
    ]


# ------------------------------------------------------------------------------------------------ feature requests


def test_productboard_notes(paths, config):
    result = load_one(paths, config, "productboard_notes.csv")
    assert (result.format, result.rows_in, result.rows_loaded, result.rows_rejected) == ("productboard_csv", 3, 2, 1)
    assert result.entity_rows == {"feature_requests": 3}  # note n-1 links two features: a row each
    found = rows(paths, "feature_requests")
    assert [(r["request_id"], r["feature_name"], r["jira_key"]) for r in found] == [
        ("n-1", "Public links", "PROD-1"),
        ("n-1", "Report sharing", "PROD-1"),
        ("n-2", None, None),
    ]
    first = found[0]
    assert first["content"].startswith("We want to share reports\nwith a public link.")  # multi-line cell
    assert first["respondent_email_hash"] == email_hash("kim@example.com")
    assert (first["account_id"], first["account_name"], first["channel"]) == ("acme.com", "Acme", "Intercom")
    assert first["tags"] == ["sharing", "reports"]
    assert quarantined(paths, result.sha256) == [
        (3, "feature_requests", "n-3", "Jira key 'not a key' is not a Jira issue key like PROJ-123")
    ]


def test_zendesk_real_tickets_are_skipped_unless_feature_requests(paths, config):
    land(paths, "zendesk/ticket_fields.json", zendesk("faros_ticket_fields.json"))
    land(paths, "zendesk/tickets.json", zendesk("faros_tickets.json"))
    report = run(paths, config)
    catalog = result_for(report, "zendesk/ticket_fields.json")
    assert (catalog.status, catalog.format, catalog.lake_files) == (LOADED, "zendesk_ticket_fields", [])
    tickets = result_for(report, "zendesk/tickets.json")
    # None of the 14 sample tickets is tagged feature_request: skipped, not rejected, and the manifest says so.
    assert (tickets.status, tickets.format, tickets.rows_in, tickets.rows_rejected) == (
        LOADED,
        "zendesk_tickets",
        0,
        0,
    )
    record = read_manifest_record(paths, "feedback", tickets.sha256)
    assert record["details"]["records_skipped"] == 14 and record["details"]["tickets_in_file"] == 14
    assert any("14 record(s) skipped, not rejected" in note for note in record["notes"])
    assert rows(paths, "feature_requests") == []


def test_zendesk_feature_request_fields_from_the_real_catalog(paths, config):
    fields = json.loads(zendesk("faros_ticket_fields.json").read_text())
    fields["ticket_fields"].append({"id": 900001, "title": "Jira Issue", "raw_title": "Jira Issue", "type": "text"})
    fields["ticket_fields"].append({"id": 900002, "title": "FEATURE", "raw_title": "FEATURE", "type": "text"})
    tickets = json.loads(zendesk("faros_tickets.json").read_text())
    by_id = {t["id"]: t for t in tickets["tickets"]}
    by_id[14]["tags"].append("feature_request")  # "Put ethically sourced label on products"
    by_id[14]["custom_fields"] += [{"id": 900001, "value": "prod-2"}, {"id": 900002, "value": "Labels"}]
    by_id[14]["satisfaction_rating"] = {"score": "good", "id": 1}
    by_id[6]["custom_fields"].append({"id": 900002, "value": "Sourcing info"})  # a filled Feature field suffices
    by_id[5]["tags"].append("feature_request")
    by_id[5]["custom_fields"].append({"id": 900001, "value": "JIRA"})  # not an issue key
    # The catalog lands in a later folder than the tickets: catalogs are still loaded first.
    land(paths, "a/tickets.json", tickets)
    land(paths, "z/fields.json", fields)
    report = run(paths, config)
    assert [r.relative_path for r in report.results] == ["feedback/z/fields.json", "feedback/a/tickets.json"]
    result = result_for(report, "a/tickets.json")
    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    found = {r["request_id"]: r for r in rows(paths, "feature_requests")}
    assert set(found) == {"14", "6"}
    t14 = found["14"]
    assert (t14["title"], t14["channel"], t14["status"], t14["satisfaction"]) == (
        "Put ethically sourced label on products",
        "web",
        "pending",
        "good",
    )
    assert (t14["jira_key"], t14["feature_name"], t14["respondent_id"]) == ("PROD-2", "Labels", "23111664510356")
    assert t14["tags"] == ["follow-up", "other", "feature_request"]
    assert t14["created_at"] == datetime(2024, 1, 31, 2, 20, 41)
    assert (found["6"]["feature_name"], found["6"]["status"], found["6"]["channel"]) == (
        "Sourcing info",
        "closed",
        "sample_ticket",
    )
    assert quarantined(paths, result.sha256) == [
        (3, "feature_requests", "5", "Jira key custom field 'JIRA' is not a Jira issue key like PROJ-123")
    ]
    # A ticket file in a later run still knows the catalog (through the manifest).
    land(paths, "b/tickets.json", {"tickets": [by_id[14] | {"id": 99}]})
    later = result_for(run(paths, config), "b/tickets.json")
    assert rows(paths, "feature_requests", f"_file_sha256 = '{later.sha256}'")[0]["jira_key"] == "PROD-2"


def test_one_company_is_one_account_across_productboard_and_zendesk(paths, config):
    # Productboard names the company by its domain, a Zendesk ticket by its organization id; the page's sideloaded
    # organizations give that id's domain, so a company requesting through both vendors is one account.
    land(
        paths,
        "productboard/notes.csv",
        "Note ID,Title,Content,Customer email,Company name,Company domain,Features,Created at\n"
        "n-1,Export,CSV please,kim@acme.com,Acme,Acme.COM ,Data export,2024-03-01T09:00:00Z\n",
    )
    ticket = {"subject": "Export", "tags": ["feature_request"], "created_at": "2024-03-02T09:00:00Z"}
    land(
        paths,
        "zendesk/tickets_page_1.json",
        {
            "tickets": [
                ticket | {"id": 1, "requester_id": 11, "organization_id": 501},
                ticket | {"id": 2, "requester_id": 12, "organization_id": 502},  # its organization is not sideloaded
                ticket | {"id": 3, "requester_id": 13, "organization_id": None},
            ],
            "organizations": [{"id": 501, "name": "Acme Inc", "domain_names": ["acme.com", "acme.io"]}],
        },
    )
    run(paths, config)
    assert {
        (r["vendor"], r["request_id"], r["account_id"], r["account_name"]) for r in rows(paths, "feature_requests")
    } == {
        ("productboard", "n-1", "acme.com", "Acme"),
        ("zendesk", "1", "acme.com", "Acme Inc"),
        ("zendesk", "2", "502", None),
        ("zendesk", "3", None, None),
    }


def test_zendesk_real_satisfaction_ratings(paths, config):
    result = load_one(paths, config, "ratings.json", zendesk("faros_satisfaction_ratings.json"))
    assert (result.format, result.rows_in, result.rows_loaded) == ("zendesk_satisfaction", 1, 1)
    (rating,) = rows(paths, "survey_responses")
    assert (rating["response_id"], rating["vendor"], rating["score"], rating["scale_min"], rating["scale_max"]) == (
        "5909514818319",
        "zendesk",
        1,  # good
        0,
        1,
    )
    assert rating["responded_at"] == datetime(2024, 2, 8, 0, 35, 21)
    assert json.loads(rating["properties"])["ticket_id"] == "6"
    record = read_manifest_record(paths, "feedback", result.sha256)
    assert record["details"]["records_skipped"] == 1  # ticket 15: offered, never answered


# ------------------------------------------------------------------------------------------------ Kano


def test_kano_wide_with_wordings_and_bad_answers(paths, config):
    result = load_one(paths, config, "kano_wide.csv")
    assert (result.format, result.rows_in, result.rows_loaded, result.rows_rejected) == ("kano_wide_csv", 7, 4, 3)
    found = [(r["respondent_id"], r["feature"], r["functional_answer"], r["dysfunctional_answer"], r["importance"])
             for r in rows(paths, "kano_answers")]  # fmt: skip
    assert found == [
        ("r1", "report_sharing", "like", "dislike", 8),
        ("r1", "dark_mode", "neutral", "neutral", None),
        ("r2", "report_sharing", "expect", "live_with", None),
        ("r2", "dark_mode", "like", "live_with", None),
    ]
    assert rows(paths, "kano_answers")[0]["respondent_email_hash"] == email_hash("mia@example.com")
    assert quarantined(paths, result.sha256) == [
        (3, "kano_answers", "r3:report_sharing", "functional answer 'Maybe' for report_sharing matches no Kano option"),
        (4, "kano_answers", "r4:dark_mode", "dysfunctional answer for dark_mode is missing"),
        (
            4,
            "kano_answers",
            "r4:report_sharing",
            "importance answer '12' for report_sharing is not a whole number from 1 to 9",
        ),
    ]


def test_kano_numeric_coding(paths, config):
    result = load_one(paths, config, "kano_numeric.csv")
    found = [
        (r["respondent_id"], r["functional_answer"], r["dysfunctional_answer"]) for r in rows(paths, "kano_answers")
    ]
    assert found == [("r10", "like", "dislike"), ("r11", "expect", "live_with")]
    assert quarantined(paths, result.sha256) == [
        (3, "kano_answers", "r12:data_export", "dysfunctional answer '7' for data_export matches no Kano option")
    ]


def test_kano_long(paths, config):
    result = load_one(paths, config, "kano_long.csv")
    assert (result.format, result.rows_in, result.rows_loaded, result.rows_rejected) == ("kano_long_csv", 6, 2, 4)
    (answer,) = rows(paths, "kano_answers")
    assert (
        answer["respondent_id"],
        answer["feature"],
        answer["functional_answer"],
        answer["dysfunctional_answer"],
    ) == (
        "r20",
        "guided_onboarding",
        "like",
        "live_with",
    )
    assert answer["respondent_email_hash"] == email_hash("noa@example.com")
    assert quarantined(paths, result.sha256) == [
        (
            3,
            "kano_answers",
            "r21:guided_onboarding:functional",
            "its pair cannot be loaded (record 4): dysfunctional answer 'Whatever' for guided_onboarding matches no "
            "Kano option",
        ),
        (
            4,
            "kano_answers",
            "r21:guided_onboarding:dysfunctional",
            "dysfunctional answer 'Whatever' for guided_onboarding matches no Kano option",
        ),
        (
            5,
            "kano_answers",
            None,
            "question 'How would you feel about a robot assistant?' matches no question in feedback.kano_features",
        ),
        (6, "kano_answers", "r23:dark_mode:functional", "dysfunctional answer for dark_mode is missing"),
    ]


# ------------------------------------------------------------------------------------------------ file failures


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "mystery.csv",
            "a,b,c\n1,2,3\n",
            "unknown layout: feedback/mystery.csv: not JSON, and the CSV header matches no feedback export "
            "(saw 'a', 'b', 'c')",
        ),
        ("empty.csv", "  \n", "unknown layout: feedback/empty.csv: the file is empty"),
        (
            "object.json",
            '{"users": []}',
            "unknown layout: feedback/object.json: a JSON object with keys 'users'; expected Zendesk 'tickets', "
            "'satisfaction_ratings' or 'ticket_fields'",
        ),
        (
            "array.json",
            '[{"foo": 1}]',
            "unknown layout: feedback/array.json: a JSON array of objects with keys 'foo'; expected Delighted survey "
            "responses or Zendesk tickets / satisfaction ratings / ticket fields",
        ),
        ("broken.json", '[{"id": ', "malformed JSON in feedback/broken.json: Expecting value at line 1 column 9"),
        (
            "wide.csv",
            "respondent_id,submitted_at,How would you feel if the product had a dark mode?,Favourite colour?\n"
            "r1,2024-01-01,I like it,blue\n",
            "Kano export feedback/wide.csv: column 4 'Favourite colour?' matches no question in feedback.kano_features",
        ),
        (
            "half.csv",
            "respondent_id,submitted_at,How would you feel if the product had a dark mode?\nr1,2024-01-01,I like it\n",
            "Kano export feedback/half.csv: feature dark_mode has no dysfunctional question column",
        ),
        (
            "long.csv",
            "respondent_id,question,answer,mood\nr1,q,a,m\n",
            "Kano long export feedback/long.csv: missing column(s) 'submitted_at'; unexpected column(s) 'mood'",
        ),
        (
            "norating.csv",
            "#,What do you like?,Submit Date (UTC),Network ID\nt1,all,2024-01-01 00:00:00,n\n",
            "Typeform export feedback/norating.csv needs exactly one NPS ('... recommend ...') or CSAT "
            "('... satisfied ...') question column, found none",
        ),
        ("latin1.csv", "response_id,score\n\xe9".encode("latin-1"), "feedback/latin1.csv is not UTF-8 text: byte 18"),
    ],
)
def test_file_failures_name_the_file_and_the_problem(paths, config, name, content, message):
    land(paths, name, content)
    land(paths, "ok.csv", OWN_SAMPLES / "csat.csv")
    report = run(paths, config)
    failed = result_for(report, name)
    assert failed.status == FAILED
    assert failed.error.startswith(message), failed.error
    assert result_for(report, "ok.csv").status == LOADED  # other files go on
    record = read_manifest_record(paths, "feedback", failed.sha256)
    assert (record["status"], record["error"]) == (FAILED, failed.error)
    assert not list((paths.lake / "_pending" / "feedback").glob(f"*/{failed.sha256}.parquet"))


# ------------------------------------------------------------------------------------------------ lake, manifest


def test_contract_schemas_anchors_and_no_raw_email_anywhere(paths, config):
    for sample in OWN_SAMPLES.iterdir():
        land(paths, sample.name, sample)
    report = run(paths, config)
    assert {r.status for r in report.results} == {LOADED}
    lake = paths.lake
    for entity, columns in contract.ENTITIES.items():
        assert schema(lake / "feedback" / entity / "_schema.parquet") == list(columns)
        pending = sorted((lake / "_pending" / "feedback" / entity).glob("*.parquet"))
        assert pending, entity
        for path in pending:
            assert schema(path) == list(columns), path
    quarantine_files = sorted((paths.quarantine_dir / "feedback").glob("*.parquet"))
    assert len(quarantine_files) == 9  # every sample but typeform_split.csv has a rejected row
    for path in quarantine_files:
        assert schema(path) == list(contract.QUARANTINE_COLUMNS)
    written = [p for p in lake.rglob("*") if p.is_file()]
    for path in written:
        data = path.read_bytes().lower()
        for email in RAW_EMAILS:
            assert email.encode() not in data, (email, path)
    # Parquet pages are compressed: also read the values back, every column as text.
    for path in written:
        if path.suffix == ".parquet":
            text = json.dumps(duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall(), default=str).lower()
            assert "@example." not in text, path


def test_same_bytes_load_once_and_reruns_write_nothing(paths, config):
    land(paths, "a/nps.json", OWN_SAMPLES / "delighted_responses.json")
    land(paths, "b/copy.json", OWN_SAMPLES / "delighted_responses.json")
    first = run(paths, config)
    assert [r.status for r in first.results] == [LOADED, SKIPPED_DUPLICATE]
    pending = sorted((paths.lake / "_pending" / "feedback").rglob("*.parquet"))
    stamps = [p.stat().st_mtime_ns for p in pending]
    again = run(paths, config)
    assert [r.status for r in again.results] == [ALREADY_LOADED, SKIPPED_DUPLICATE]
    assert [p.stat().st_mtime_ns for p in pending] == stamps
    record = read_manifest_record(paths, "feedback", first.results[0].sha256)
    assert (record["path"], record["aliases"]) == ("feedback/a/nps.json", ["feedback/b/copy.json"])
    assert (record["rows_in"], record["rows_loaded"], record["rows_rejected"]) == (5, 2, 3)
    assert record["lake_files"] == [f"feedback/survey_responses/{record['sha256']}.parquet"]
    assert record["quarantine_file"] == f"_quarantine/feedback/{record['sha256']}.parquet"


def test_killed_run_leaves_no_partial_file(paths, config, monkeypatch):
    land(paths, "csat.csv", OWN_SAMPLES / "csat.csv")

    def crash(src: Path, dst: Path) -> None:
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(atomic, "_replace", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest_feedback(paths, config)
    monkeypatch.undo()
    pending = paths.lake / "_pending" / "feedback"
    assert not [p for p in pending.rglob("*") if p.is_file()]
    result = result_for(run(paths, config), "csat.csv")
    assert (result.status, result.rows_loaded) == (LOADED, 2)
    assert not [p for p in paths.lake.rglob("*.tmp")]
