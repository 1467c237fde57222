"""Feedback end to end: generated analytics, feedback and billing exports through the whole job, checked in the
PUBLISHED marts against what the generators planted. Reads the session's shared run (tests/support/shared_run.py),
whose survey respondents and requesters are its analytics sample's users."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import pytest

pytestmark = pytest.mark.slow

FEEDBACK_MARTS = ("fct_nps", "fct_csat", "fct_feature_requests", "fct_kano_features")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def published(shared_run):
    con = duckdb.connect(str(shared_run.paths.published / "marts.duckdb"), read_only=True)
    yield shared_run.paths, shared_run.truths["feedback"], con
    con.close()


def _month(d: date) -> str:
    return d.strftime("%Y-%m")


def test_nps_per_segment_and_month_equal_the_realised_counts(published):
    _, truths, con = published
    # The planted bad rows (unparseable date, score out of range) are quarantined; the truths count valid rows only.
    by_segment = {
        f"{plan}|{platform}": (n, p, pa, d)
        for plan, platform, n, p, pa, d in con.execute(
            "select segment_plan, segment_platform, sum(responses), sum(promoters), sum(passives), sum(detractors) "
            "from fct_nps where segment_plan not in ('(all)', '(unknown)') "
            "and segment_platform not in ('(all)', '(unknown)') group by 1, 2"
        ).fetchall()
    }
    expected = {
        seg: (c.responses, c.promoters, c.passives, c.detractors)
        for seg, c in truths.nps.realised_by_segment.items()
        if c.responses
    }
    assert by_segment == expected
    by_month = {
        _month(m): (n, p, pa, d)
        for m, n, p, pa, d in con.execute(
            "select period_start, responses, promoters, passives, detractors from fct_nps "
            "where segment_plan = '(all)' and segment_platform = '(all)'"
        ).fetchall()
    }
    assert by_month == {
        m: (c.responses, c.promoters, c.passives, c.detractors) for m, c in truths.nps.realised_by_month.items()
    }


def test_csat_is_the_five_point_share(published):
    _, truths, con = published
    responses, satisfied = con.execute(
        "select sum(responses), sum(satisfied) from fct_csat "
        "where segment_plan = '(all)' and segment_platform = '(all)'"
    ).fetchall()[0]
    # Zendesk's good/bad satisfaction ratings are not in CSAT by design; the truths' CSAT holds 5-point answers only.
    assert (responses, satisfied) == (truths.csat.realised_responses, truths.csat.realised_satisfied)


def test_feature_requests_per_initiative(published):
    _, truths, con = published
    got = {
        k: (r, a)
        for k, r, a in con.execute(
            "select initiative_key, requests, unique_accounts from fct_feature_requests"
        ).fetchall()
    }
    fr = truths.feature_requests
    assert {k: r for k, (r, _) in got.items() if k != "(unlinked)"} == {
        k: v.requests for k, v in fr.realised_by_initiative.items() if v.requests
    }
    assert got.get("(unlinked)", (0, 0))[0] == fr.unlinked_requests
    assert {k: a for k, (_, a) in got.items() if k != "(unlinked)"} == {
        k: v.unique_accounts for k, v in fr.realised_by_initiative.items() if v.requests
    }


def test_kano_dominant_category_and_counts(published):
    _, truths, con = published
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select feature, dominant_category, a_count, o_count, m_count, i_count, r_count, q_count "
            "from fct_kano_features"
        ).fetchall()
    }
    for feature, t in truths.kano.features.items():
        assert t.dominant_category == t.planted_category, feature  # the sample is large enough to show it
        assert rows[feature][0] == t.planted_category, feature
        assert rows[feature][1:] == tuple(t.realised_counts[c] for c in "AOMIRQ"), feature


def test_no_email_in_any_published_feedback_mart(published):
    _, _, con = published
    for mart in FEEDBACK_MARTS:
        columns = [
            c
            for c, t in con.execute(
                "select column_name, data_type from information_schema.columns where table_name = ?", [mart]
            ).fetchall()
            if t == "VARCHAR"
        ]
        for column in columns:
            values = [v for (v,) in con.execute(f'select distinct "{column}" from "{mart}"').fetchall() if v]
            assert not [v for v in values if EMAIL.search(v)], (mart, column)


def test_published_parquet_text_cannot_start_a_formula(published):
    paths, truths, _ = published
    assert truths.formula_like_cells, "the sample plants formula-like free text"
    for mart in FEEDBACK_MARTS:
        parquet = paths.published / "parquet" / f"{mart}.parquet"
        assert parquet.exists(), mart
        rel = duckdb.sql(f"select * from read_parquet('{parquet}')")
        for column, dtype in zip(rel.columns, rel.dtypes, strict=True):
            if str(dtype) != "VARCHAR":
                continue
            values = [v for (v,) in duckdb.sql(f"select \"{column}\" from read_parquet('{parquet}')").fetchall()]
            assert not [v for v in values if v and v.startswith(FORMULA_START)], (mart, column)


def test_revenue_weighted_demand_is_filled_from_billing(published):
    _, _, con = published
    rows = con.execute(
        "select initiative_key, matched_requesters, matched_customers, revenue_weighted_demand "
        "from fct_feature_requests"
    ).fetchall()
    assert all(r[3] is not None for r in rows)
    assert any(r[3] > 0 for r in rows), rows
