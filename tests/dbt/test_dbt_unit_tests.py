"""Every dbt unit test of the project, run once after the models exist.

dbt runs a unit test before the model it tests but does not wait for that model's inputs, and it needs the
inputs' relations to complete the fixtures' columns: inside one fresh `dbt build` that races. So builds elsewhere
exclude unit tests, and this test builds the models on an empty lake first, then runs all of them.
"""

from __future__ import annotations

import json

from core.config import load_config
from tests.support.warehouse import Warehouse, write_schema_file


def test_every_dbt_unit_test_passes(tmp_path, dbt_parse_cache):
    warehouse = Warehouse(tmp_path, load_config().dbt_vars(), dbt_parse_cache)
    write_schema_file(warehouse.lake_dir)  # the other sources' empty lakes are handled by lake_source()
    warehouse.dbt("build", "--exclude", "resource_type:test")
    warehouse.dbt("test", "--select", "resource_type:unit_test")
    results = json.loads((tmp_path / "dbt_target" / "run_results.json").read_text(encoding="utf-8"))["results"]
    unit_tests = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert {r["status"] for r in unit_tests} == {"pass"}
    # Guards against a selector that silently matches nothing: the project has unit tests in every mart area.
    tested = {r["unique_id"].split(".")[2] for r in unit_tests}
    assert {"fct_funnel_conversion", "fct_retention_cohorts", "fct_issue_cycle_times", "fct_nps"} <= tested
    assert {"fct_initiative_outcomes", "int_initiative_outcome_windows_measured"} <= tested
    assert len(unit_tests) >= 33
