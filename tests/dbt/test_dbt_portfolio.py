"""dim_ideas and stg_jira__issue_links on the generated Jira sample: JSON and CSV exports ingested, promoted, and
only the models dim_ideas needs built (``--select +dim_ideas``). Every expectation comes from the sample's planted
truths (sample_generator.jira.IdeaTruth), not from the SQL."""

from __future__ import annotations

import pytest

from core.config import load_config
from core.settings import Paths
from ingest.common.lake import promote_pending
from ingest.jira import contract
from ingest.jira.load import ingest_jira
from sample_generator.jira import generate_jira
from tests.support.warehouse import Warehouse, write_schema_file


@pytest.fixture(scope="module")
def built(tmp_path_factory, dbt_parse_cache):
    root = tmp_path_factory.mktemp("dim_ideas")
    paths = Paths(root / "data").ensure()
    config = load_config()
    truths = generate_jira(paths.landing, csv_timezone=config.jira.csv_timezone, language="fr", weeks=16)
    report = ingest_jira(paths, config)
    assert all(r.status == "loaded" for r in report.results), [r.describe() for r in report.results]
    for entity in contract.ENTITIES:
        promote_pending(paths, "jira", entity)
    warehouse = Warehouse(root, config.dbt_vars(), dbt_parse_cache)
    warehouse.root = root
    # The Warehouse helper reads the lake from root/lake; point it at the ingested one.
    (root / "lake").symlink_to(paths.lake, target_is_directory=True)
    write_schema_file(warehouse.lake_dir)
    warehouse.dbt("build", "--select", "+dim_ideas", "--indirect-selection", "cautious")
    return warehouse, truths


def test_every_idea_with_its_rice_fields_and_implementing_initiative(built):
    warehouse, truths = built
    rows = {
        r[0]: r[1:]
        for r in warehouse.rows(
            "select idea_key, reach, impact, confidence, effort_person_months, implemented_by_initiative_key, "
            "implementing_initiatives from marts.dim_ideas"
        )
    }
    expected = {
        idea.key: (
            idea.reach,
            idea.impact,
            idea.confidence,
            idea.effort,
            idea.implemented_by,
            int(idea.implemented_by is not None),
        )
        for idea in truths.ideas
    }
    assert rows == expected
    assert sum(1 for idea in truths.ideas if idea.effort is None) == 1  # the sample plants one empty effort ...
    assert sum(1 for idea in truths.ideas if idea.effort == 0) == 1  # ... and one 0, kept as they are


def test_idea_statuses_follow_the_discovery_workflow(built):
    warehouse, truths = built
    statuses = dict(warehouse.rows("select idea_key, idea_status from marts.dim_ideas"))
    shipped = {k for k, i in truths.initiatives.items() if i.shipped}
    for idea in truths.ideas:
        if idea.implemented_by in shipped:
            assert statuses[idea.key] == "shipped", idea.key
        elif idea.implemented_by is not None:
            assert statuses[idea.key] == "in_delivery", idea.key
        else:
            assert statuses[idea.key] in ("parked", "discovery"), idea.key
    assert {s for s in statuses.values()} >= {"shipped", "in_delivery", "parked", "discovery"}


def test_links_are_kept_once_though_json_and_csv_both_carry_them(built):
    warehouse, truths = built
    links = warehouse.rows(
        "select issue_key, direction, link_type, linked_issue_key, source_format "
        "from intermediate.int_issue_links_matched_to_kept_exports "
        "order by issue_key"
    )
    implemented = {(i.key, i.implemented_by) for i in truths.ideas if i.implemented_by}
    assert {(k, d, t, linked) for k, d, t, linked, _ in links} == {
        (idea, "inward", "Polaris work item link", initiative) for idea, initiative in implemented
    } | {(initiative, "outward", "Polaris work item link", idea) for idea, initiative in implemented}
    assert {fmt for *_, fmt in links} <= {"rest_v3", "rest_jql"}  # the JSON copy of each issue is the kept one
