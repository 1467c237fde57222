"""The feedback part of the dbt project end to end on a tiny lake: staging dedupe and identity, NPS, CSAT, Kano and
feature-request demand, spreadsheet-safe text, no raw emails in the marts.

The lake files carry exactly the columns and types of ingest/feedback/contract.py; the analytics and Jira areas
hold their zero-row schema files plus three Jira issues (an initiative, its epic and a story) for request
linking. dbt runs in its own process with the shipped configuration's vars, as the pipeline calls it. Every
expected figure is worked out by hand from the rows written here, and the intervals from their formulas.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from core.config import load_config
from core.settings import DBT_PROJECT_DIR
from expectations import GATES, validate_parquet_files, validate_warehouse_table
from ingest.common.identity import email_hash
from ingest.feedback.contract import ENTITIES
from tests.support.contract_types import duckdb_spelling
from tests.support.intervals import nps_interval, wilson_interval
from tests.support.jira_lake import issue, write_jira_file, write_jira_schema_files
from tests.support.warehouse import Warehouse, as_dicts, build_selecting, by_key, write_schema_file

FEEDBACK_MARTS = ("fct_nps", "fct_csat", "fct_feature_requests", "fct_kano_features")
# Only the models these tests read and their ancestors (tests/support/warehouse.build_selecting).
BUILD = build_selecting(
    *FEEDBACK_MARTS,
    "int_feature_requests_linked_to_initiatives",
    "stg_feedback__feature_requests",
    "stg_feedback__survey_responses",
)
DESIGN_MD = Path("/work/shared/DESIGN.md")
EMAIL_LOOKING = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def at(month: int, day: int, hour: float = 9) -> dt.datetime:
    return dt.datetime(2024, month, day) + dt.timedelta(hours=hour)


def write_feedback_file(
    lake_dir: Path, entity: str, name: str, source_format: str, rows: list[dict[str, Any]], ingested_at: dt.datetime
) -> Path:
    """One lake Parquet file of a feedback entity with exactly the contract's columns and types, as ingest writes
    it. Columns a row does not name are NULL; lineage columns are filled in."""
    columns = ENTITIES[entity]
    target_dir = lake_dir / "feedback" / entity
    target_dir.mkdir(parents=True, exist_ok=True)
    unknown = {key for row in rows for key in row} - {c for c, _ in columns}
    assert not unknown, f"not in the {entity} contract: {unknown}"
    lineage = {
        "_source_file": f"feedback/{name}",
        "_source_format": source_format,
        "_file_sha256": hashlib.sha256(name.encode()).hexdigest(),
        "_ingested_at": ingested_at,
    }
    with duckdb.connect() as con:
        con.execute(f"create table rows_ ({', '.join(f'{c} {t}' for c, t in columns)})")
        for number, row in enumerate(rows, start=1):
            values = lineage | {"_record_number": number} | row
            con.execute(
                f"insert into rows_ values ({', '.join('?' for _ in columns)})", [values.get(c) for c, _ in columns]
            )
        path = target_dir / f"{hashlib.sha256(name.encode()).hexdigest()}.parquet"
        con.execute(f"copy rows_ to '{path}' (format parquet)")
    return path


def nps_response(response_id: str, score: int, responded_at: dt.datetime, **fields: Any) -> dict[str, Any]:
    segment = fields.pop("segment", {})
    return {
        "response_id": response_id,
        "survey_type": "nps",
        "survey_name": "Quarterly NPS",
        "vendor": "delighted",
        "score": score,
        "scale_min": 0,
        "scale_max": 10,
        "responded_at": responded_at,
        "properties": json.dumps(segment),
        **fields,
    }


def csat_response(response_id: str, score: int, segment: dict[str, str]) -> dict[str, Any]:
    return {
        "response_id": response_id,
        "survey_type": "csat",
        "survey_name": "Support CSAT",
        "vendor": "generic",
        "score": score,
        "scale_min": 1,
        "scale_max": 5,
        "responded_at": at(3, 12),
        "properties": json.dumps(segment),
    }


def kano(response_id: str, respondent: dict[str, str], feature: str, functional: str, dysfunctional: str, **fields):
    return {
        "response_id": response_id,
        "feature": feature,
        "functional_answer": functional,
        "dysfunctional_answer": dysfunctional,
        "answered_at": at(3, 1),
        **respondent,
        **fields,
    }


PRO_WEB = {"plan": "pro", "platform": "web"}
S2_EMAIL_HASH = email_hash("Second.Respondent@Example.com")
REQUESTER_EMAIL_HASH = email_hash("requester@example.org")

NPS_FIRST_EXPORT = [
    nps_response("s1", 10, at(3, 1), user_id="u1", segment=PRO_WEB),
    nps_response("s2", 9, at(3, 2), respondent_email_hash=S2_EMAIL_HASH, segment={"plan": "pro", "platform": "ios"}),
    nps_response("s3", 7, at(3, 3), user_id="u3", segment=PRO_WEB, comment="=1+1 fine I guess"),
    nps_response("s4", 6, at(3, 4), user_id="u4", segment={"plan": "free", "platform": "web"}),
    nps_response("s5", 0, at(3, 5), user_id="u5", segment={"plan": "free", "platform": "android"}),
    nps_response("s6", 10, at(3, 31, 23.5), segment={}),  # anonymous, no segment fields
]
# A later export re-sends s1 unchanged and s4 after the respondent edited the score to 8 (a passive now).
NPS_SECOND_EXPORT = [NPS_FIRST_EXPORT[0], NPS_FIRST_EXPORT[3] | {"score": 8}]
# Another vendor reuses the id s5: a different response (April).
TYPEFORM_EXPORT = [
    nps_response("s5", 10, at(4, 3), vendor="typeform", user_id="u9", segment={"plan": "pro", "platform": "iOS"})
]
CSAT_EXPORT = [
    csat_response("c1", 5, PRO_WEB),
    csat_response("c2", 4, PRO_WEB),
    csat_response("c3", 2, {"plan": "free", "platform": "web"}),
    csat_response("c4", 3, {"plan": "free", "platform": "web"}),
]

REQUESTS_FIRST_EXPORT = [
    {  # the story PROD-11 rolls up through epic PROD-10 to initiative PROD-1
        "request_id": "fr1",
        "vendor": "productboard",
        "title": '=HYPERLINK("http://evil.example","click")',
        "user_id": "u1",
        "account_id": "acme",
        "jira_key": "PROD-11",
        "tags": ["sharing"],
        "created_at": at(3, 1),
    },
    {  # no Jira key; the feature name is the configured Kano feature guided_onboarding (initiative PROD-2)
        "request_id": "fr2",
        "vendor": "productboard",
        "title": "\rnew onboarding",
        "respondent_email_hash": REQUESTER_EMAIL_HASH,
        "account_id": "beta",
        "feature_name": "Guided onboarding",
        "created_at": at(3, 5),
    },
    {
        "request_id": "fr3",
        "vendor": "productboard",
        "title": "Share reports",
        "user_id": "u2",
        "account_id": "acme",
        "jira_key": "prod-1",
        "created_at": at(3, 10),
    },
    {  # the configured Kano feature dark_mode belongs to no initiative: unlinked
        "request_id": "fr4",
        "vendor": "zendesk",
        "title": "Dark mode",
        "feature_name": "Dark mode",
        "created_at": at(2, 1),
    },
]
# A later export carries fr3's edited title, with an address typed into it.
REQUESTS_SECOND_EXPORT = [REQUESTS_FIRST_EXPORT[2] | {"title": "Share reports, ping bob@example.com"}]

U1, U4, U5, U6 = ({"user_id": u} for u in ("u1", "u4", "u5", "u6"))
KANO_EXPORT = [
    kano("r1", U1, "report_sharing", "like", "dislike", importance=7),  # O
    kano("r2", {"respondent_email_hash": S2_EMAIL_HASH}, "report_sharing", "like", "neutral", importance=5),  # A
    kano("r3", {}, "report_sharing", "expect", "dislike"),  # M, anonymous
    kano("r4", U4, "report_sharing", "like", "dislike", importance=9),  # O
    kano("r5", U5, "report_sharing", "dislike", "dislike"),  # Q
    kano("r1", U1, "guided_onboarding", "expect", "dislike"),  # M
    kano("r4", U4, "guided_onboarding", "neutral", "neutral"),  # I
    # u6 answered twice: the older like/like (Q) is superseded by the newer like/dislike (O)
    kano("r6a", U6, "guided_onboarding", "like", "like", answered_at=at(3, 1)),
    kano("r6b", U6, "guided_onboarding", "like", "dislike", answered_at=at(3, 5)),
]


def build_lake(lake_dir: Path) -> None:
    write_schema_file(lake_dir)
    write_jira_schema_files(lake_dir)
    for entity in ENTITIES:
        write_feedback_file(lake_dir, entity, f"_schema_{entity}", "none", [], dt.datetime(2024, 1, 1))
    write_jira_file(
        lake_dir,
        "issues",
        "export_1.json",
        [
            issue("PROD-1", "Initiative", 2, "In Progress", "indeterminate", summary="Report sharing"),
            issue("PROD-10", "Epic", 1, "In Progress", "indeterminate", parent_key="PROD-1"),
            issue("PROD-11", "Story", 0, "To Do", "new", epic_key="PROD-10"),
        ],
        ingested_at=dt.datetime(2024, 4, 1),
    )
    write = write_feedback_file
    write(lake_dir, "survey_responses", "nps_1.json", "delighted_json", NPS_FIRST_EXPORT, dt.datetime(2024, 4, 2))
    write(lake_dir, "survey_responses", "nps_2.json", "delighted_json", NPS_SECOND_EXPORT, dt.datetime(2024, 4, 5))
    write(lake_dir, "survey_responses", "typeform.csv", "typeform_csv", TYPEFORM_EXPORT, dt.datetime(2024, 4, 5))
    write(lake_dir, "survey_responses", "csat.csv", "csat_csv", CSAT_EXPORT, dt.datetime(2024, 4, 5))
    write(lake_dir, "feature_requests", "pb_1.csv", "productboard_csv", REQUESTS_FIRST_EXPORT, dt.datetime(2024, 4, 2))
    write(lake_dir, "feature_requests", "pb_2.csv", "productboard_csv", REQUESTS_SECOND_EXPORT, dt.datetime(2024, 4, 3))
    write(lake_dir, "kano_answers", "kano.csv", "kano_wide_csv", KANO_EXPORT, dt.datetime(2024, 4, 2))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, dbt_parse_cache) -> Warehouse:
    root = tmp_path_factory.mktemp("feedback_warehouse")
    built = Warehouse(root, load_config().dbt_vars(), dbt_parse_cache)
    build_lake(built.lake_dir)
    elapsed = built.dbt(*BUILD)
    print(f"\ndbt build with the feedback lake: {elapsed:.1f} s wall")
    return built


# --------------------------------------------------------------------------------------------------------------
# Contract and the Kano table
# --------------------------------------------------------------------------------------------------------------


def test_source_columns_match_the_feedback_contract():
    path = DBT_PROJECT_DIR / "models" / "staging" / "feedback" / "_feedback__sources.yml"
    (source,) = [s for s in yaml.safe_load(path.read_text())["sources"] if s["name"] == "feedback"]
    tables = {t["name"]: t for t in source["tables"]}
    assert set(tables) == set(ENTITIES)
    for entity, columns in ENTITIES.items():
        assert [(c["name"], duckdb_spelling(c["data_type"])) for c in tables[entity]["columns"]] == [
            (name, duckdb_spelling(dtype)) for name, dtype in columns
        ], entity


def design_kano_table(design_text: str) -> dict[tuple[str, str], str]:
    """The 25 cells of DESIGN.md's evaluation table: the header names the column order
    ("(rows functional, columns dysfunctional; Like, Expect, ...)"), the next table line the rows."""
    header = re.search(r"rows functional, columns dysfunctional;\s*([^)]*)\)", design_text)
    assert header, "DESIGN.md has no Kano evaluation table header"
    answers = [a.strip() for a in header.group(1).split(",")]
    table_line = next(line for line in design_text.splitlines() if re.match(r"\s*Like:\s*[AOMIRQ](\s|$)", line))
    rows = dict(re.findall(r"([A-Za-z-]+):\s*((?:[AOMIRQ]\s*){5})", table_line))
    assert list(rows) == answers, f"row labels {list(rows)} differ from the column labels {answers}"

    def vocabulary(label: str) -> str:  # Live-with -> live_with, the contract's answer vocabulary
        return label.lower().replace("-", "_")

    return {
        (vocabulary(functional), vocabulary(dysfunctional)): category
        for functional, categories in rows.items()
        for dysfunctional, category in zip(answers, categories.split(), strict=True)
    }


def test_kano_seed_matches_the_design_table():
    if not DESIGN_MD.exists():
        pytest.skip(f"{DESIGN_MD} is not on this machine")
    design = design_kano_table(DESIGN_MD.read_text(encoding="utf-8"))
    seed_lines = (DBT_PROJECT_DIR / "seeds" / "kano_evaluation.csv").read_text().splitlines()
    assert seed_lines[0] == "functional_answer,dysfunctional_answer,category"
    seed = [tuple(line.split(",")) for line in seed_lines[1:] if line.strip()]

    assert len(design) == 25
    assert len(seed) == len({(f, d) for f, d, _ in seed}) == 25  # every cell once
    assert {(f, d): c for f, d, c in seed} == design


def test_the_design_parser_reads_a_known_table():
    # Guards the parser itself, so the seed comparison above cannot pass by parsing nothing.
    text = (
        "Kano: classify (rows functional, columns dysfunctional; Like, Expect, Neutral, Live-with, Dislike):\n"
        "  Like: Q A A A O · Expect: R I I I M · Neutral: R I I I M · Live-with: R I I I M · Dislike: R R R R Q.\n"
    )
    table = design_kano_table(text)
    assert len(table) == 25
    assert table[("like", "dislike")] == "O" and table[("live_with", "dislike")] == "M"
    assert table[("dislike", "like")] == "R" and table[("like", "like")] == "Q"
    assert table[("like", "live_with")] == "A" and table[("neutral", "expect")] == "I"


# --------------------------------------------------------------------------------------------------------------
# The built warehouse
# --------------------------------------------------------------------------------------------------------------


def test_staging_dedupes_and_keys_respondents(warehouse):
    responses = as_dicts(warehouse, "select * from staging.stg_feedback__survey_responses")
    assert len(responses) == 6 + 1 + 4  # s1..s6, typeform's s5, four CSAT responses
    by_vendor_id = {(r["vendor"], r["response_id"]): r for r in responses}
    assert by_vendor_id[("delighted", "s4")]["score"] == 8  # the later export's edit wins
    assert by_vendor_id[("delighted", "s1")]["respondent_key"] == "u1"
    assert by_vendor_id[("delighted", "s2")]["respondent_key"] == f"email:{S2_EMAIL_HASH}"
    assert by_vendor_id[("delighted", "s6")]["respondent_key"] == "anon:s6"
    assert by_vendor_id[("delighted", "s2")]["segment_platform"] == "iOS"
    assert by_vendor_id[("delighted", "s6")]["segment_plan"] is None

    requests = by_key(as_dicts(warehouse, "select * from staging.stg_feedback__feature_requests"), "request_id")
    assert len(requests) == 4
    assert requests["fr3"]["title"] == "Share reports, ping bob@example.com"  # latest ingested copy
    assert requests["fr3"]["jira_key"] == "PROD-1"
    assert requests["fr4"]["respondent_key"] == "anon:fr4"


def test_nps_by_month_and_segment(warehouse):
    rows = as_dicts(warehouse, "select * from marts.fct_nps")
    nps = {(str(r["period_start"]), r["segment_plan"], r["segment_platform"]): r for r in rows}

    # March after dedupe: s1 10, s2 9, s6 10 promoters; s3 7, s4 8 passives; s5 0 detractor.
    march = nps[("2024-03-01", "(all)", "(all)")]
    assert (march["responses"], march["promoters"], march["passives"], march["detractors"]) == (6, 3, 2, 1)
    expected_nps, expected_low, expected_high = nps_interval(3, 1, 6)
    assert march["nps"] == pytest.approx(100 / 3)
    assert (march["nps"], march["nps_ci_low"], march["nps_ci_high"]) == pytest.approx(
        (expected_nps, expected_low, expected_high)
    )

    pro = nps[("2024-03-01", "pro", "(all)")]  # s1, s2 promoters, s3 passive: 66.7, the interval clamped at 100
    assert (pro["responses"], pro["nps"]) == (3, pytest.approx(200 / 3))
    assert pro["nps_ci_high"] == 100
    assert pro["nps_ci_low"] == pytest.approx(nps_interval(2, 0, 3)[1])
    assert nps[("2024-03-01", "free", "(all)")]["nps"] == pytest.approx(-50)
    assert nps[("2024-03-01", "(all)", "Web")]["responses"] == 3  # s1, s3, s4 (web normalised to Web)
    unknown = nps[("2024-03-01", "(unknown)", "(unknown)")]
    assert (unknown["responses"], unknown["nps"], unknown["nps_ci_low"]) == (1, 100, 100)
    april = nps[("2024-04-01", "(all)", "(all)")]  # typeform's own s5
    assert (april["responses"], april["promoters"]) == (1, 1)

    march_cells = [r for key, r in nps.items() if key[0] == "2024-03-01" and "(all)" not in key[1:]]
    assert sum(r["responses"] for r in march_cells) == march["responses"]  # segments add up to the total
    assert not any(key[1] == "(all)" and r["responses"] == 4 for key, r in nps.items())  # CSAT rows never counted


def test_csat_with_wilson_interval(warehouse):
    rows = as_dicts(warehouse, "select * from marts.fct_csat")
    csat = {(str(r["period_start"]), r["segment_plan"], r["segment_platform"]): r for r in rows}

    total = csat[("2024-03-01", "(all)", "(all)")]
    assert (total["responses"], total["satisfied"], total["csat"]) == (4, 2, 0.5)
    assert (total["csat_ci_low"], total["csat_ci_high"]) == pytest.approx(wilson_interval(2, 4))
    pro = csat[("2024-03-01", "pro", "Web")]
    assert (pro["responses"], pro["satisfied"], pro["csat"]) == (2, 2, 1.0)
    assert pro["csat_ci_high"] == pytest.approx(1.0) and pro["csat_ci_low"] == pytest.approx(wilson_interval(2, 2)[0])
    assert csat[("2024-03-01", "free", "(all)")]["csat"] == 0
    assert {key[0] for key in csat} == {"2024-03-01"}  # NPS responses never counted


def test_kano_features(warehouse):
    features = by_key(as_dicts(warehouse, "select * from marts.fct_kano_features"), "feature")
    # every configured feature (pmw.yml), answered or not
    assert set(features) == {"report_sharing", "guided_onboarding", "data_export", "dark_mode"}
    assert features["dark_mode"]["initiative_key"] is None

    sharing = features["report_sharing"]  # O, A, M, O, Q
    counts = tuple(sharing[f"{c}_count"] for c in "aomirq")
    assert (sharing["initiative_key"], sharing["respondents"], counts) == ("PROD-1", 5, (1, 2, 1, 0, 0, 1))
    assert sharing["dominant_category"] == "O"
    assert (sharing["better"], sharing["worse"]) == pytest.approx((3 / 4, -3 / 4))
    assert sharing["average_importance"] == pytest.approx(7)

    onboarding = features["guided_onboarding"]  # M, I and u6's newer O: a three-way tie goes to M
    counts = tuple(onboarding[f"{c}_count"] for c in "aomirq")
    assert (onboarding["respondents"], counts, onboarding["dominant_category"]) == (3, (0, 1, 1, 1, 0, 0), "M")
    assert (onboarding["better"], onboarding["worse"]) == pytest.approx((1 / 3, -2 / 3))

    unanswered = features["data_export"]  # configured, nobody answered
    assert (unanswered["initiative_key"], unanswered["respondents"], unanswered["dominant_category"]) == (
        "PROD-3",
        0,
        None,
    )
    assert unanswered["better"] is None


def test_feature_request_demand_and_safe_titles(warehouse):
    demand = by_key(as_dicts(warehouse, "select * from marts.fct_feature_requests"), "initiative_key")
    assert set(demand) == {"PROD-1", "PROD-2", "(unlinked)"}

    sharing = demand["PROD-1"]  # fr1 through story PROD-11, fr3 directly
    assert (sharing["requests"], sharing["unique_accounts"], sharing["unique_respondents"]) == (2, 1, 2)
    assert (sharing["requests_linked_by_jira_key"], sharing["requests_linked_by_feature_name"]) == (2, 0)
    assert (sharing["first_requested_at"], sharing["last_requested_at"]) == (at(3, 1), at(3, 10))
    assert sharing["latest_request_title"] == "Share reports, ping [email]"
    assert sharing["revenue_weighted_demand"] is None  # until billing data exists

    onboarding = demand["PROD-2"]
    assert (onboarding["requests"], onboarding["requests_linked_by_feature_name"]) == (1, 1)
    assert onboarding["latest_request_title"] == "\rnew onboarding"  # made spreadsheet-safe at publish
    assert demand["(unlinked)"]["requests"] == 1 and demand["(unlinked)"]["unique_accounts"] == 0

    linked = by_key(
        as_dicts(warehouse, "select * from intermediate.int_feature_requests_linked_to_initiatives"), "request_id"
    )
    assert linked["fr1"]["title"].startswith("=")  # text is made spreadsheet-safe once, at publish


def test_no_mart_carries_an_email(warehouse):
    for mart in FEEDBACK_MARTS:
        rows = warehouse.rows(f"select * from marts.{mart}")
        assert rows, mart
        for row in rows:
            for value in row:
                assert not (isinstance(value, str) and EMAIL_LOOKING.search(value)), (mart, value)


def test_rerunning_changes_nothing(warehouse):
    def contents() -> dict[str, list[tuple]]:
        return {mart: sorted(warehouse.rows(f"select * from marts.{mart}"), key=repr) for mart in FEEDBACK_MARTS}

    before = contents()
    assert all(before.values())
    warehouse.dbt(*BUILD)
    assert contents() == before


def test_the_feedback_gates_pass_on_this_lake_and_its_marts(warehouse):
    raw_files = sorted((warehouse.lake_dir / "feedback" / "survey_responses").glob("*.parquet"))
    raw = validate_parquet_files(raw_files, GATES["raw_feedback_survey_responses"], config=load_config())
    assert raw.success, raw.summary()
    for mart in ("fct_nps", "fct_kano_features"):
        result = validate_warehouse_table(warehouse.path, f"marts.{mart}", GATES[mart], config=load_config())
        assert result.success and not result.warnings, result.summary()
