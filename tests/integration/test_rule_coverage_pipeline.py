"""Every rule of tests/support/rule_coverage.py occurs in the session's published sample (``shared_run``), and the
planted first-touch UTM truth comes out of fct_customer_acquisition customer by customer.

Reads the already-run data directory only: the published marts.duckdb, the working warehouse file (staging and
intermediate tables, opened read-only) and the lake's Parquet (invoices, spend, quarantined rows).
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from tests.support.rule_coverage import RULES, lake_view_sql


@pytest.fixture(scope="module")
def connections(shared_run) -> Iterator[dict[str, duckdb.DuckDBPyConnection]]:
    paths = shared_run.paths
    lake = duckdb.connect()
    for statement in lake_view_sql(paths.lake):
        lake.execute(statement)
    connections = {
        "marts": duckdb.connect(str(paths.published / "marts.duckdb"), read_only=True),
        "warehouse": duckdb.connect(str(paths.warehouse_path), read_only=True),
        "lake": lake,
    }
    yield connections
    for connection in connections.values():
        connection.close()


@pytest.mark.parametrize("rule", [r for r in RULES if r.query is not None], ids=lambda r: r.rule_id)
def test_the_published_sample_exercises_the_rule(connections, rule):
    [(count,)] = connections[rule.database].execute(rule.query).fetchall()
    assert count > 0, f"{rule.rule_id}: no occurrence in the published sample ({rule.sample})"


def test_first_touch_utm_attributes_exactly_the_planted_customers(shared_run, connections):
    truths = shared_run.truths["billing"]
    rows = (
        connections["marts"]
        .execute("select customer_id, channel from fct_customer_acquisition where attribution_rule = 'first_touch_utm'")
        .fetchall()
    )
    assert dict(rows) == truths.first_touch_utm_customers
    assert len(truths.first_touch_utm_customers) > 0
    [(metadata_over_utm,)] = (
        connections["marts"]
        .execute(
            "select count(*) from fct_customer_acquisition"
            " where attribution_rule = 'billing_metadata' and first_touch_utm_source is not null"
        )
        .fetchall()
    )
    assert metadata_over_utm == truths.metadata_over_utm_customers
    # The later campaign of first_visit_then_other users is never anyone's first touch.
    [(later_campaign_first,)] = (
        connections["marts"]
        .execute("select count(*) from fct_customer_acquisition where first_touch_utm_source = 'linkedin'")
        .fetchall()
    )
    assert later_campaign_first == 0
