"""Gate on newly ingested Jira status catalogs (`/rest/api/{2,3}/status`): the lake Parquet files of one ingest run.

The contract is ingest/jira/contract.py. dbt takes status categories from this catalog before anything else
(int_jira_statuses_categorised), so a status must have its id and name, and a category only from Jira's three keys.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx

from core.config import PipelineConfig
from expectations import lake_rules as rules
from expectations.runner import DerivedCheck, Gate
from ingest.jira.contract import STATUS_CATALOG_COLUMNS

NAME = "raw_jira_statuses"

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=NAME,
        expectations=[
            rules.contract_columns(STATUS_CATALOG_COLUMNS, "jira/statuses"),
            *rules.not_null(
                ("status_id", "name", "_file_sha256"),
                "statuses are matched by name to issues and changelog items; both id and name must be there",
            ),
            rules.one_of(
                "status_category",
                ("new", "indeterminate", "done"),
                "cycle times read only Jira's three category keys; ingest stores any other key as NULL",
            ),
            rules.matches(
                "status_id",
                r"^[0-9]+$",
                "Jira numbers statuses; another id is a shifted column or not a status catalog",
            ),
        ],
    )


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [
        DerivedCheck(
            name="one_category_per_status_name_and_scope",
            sql="""
                select _file_sha256, _source_file, lower(trim(name)) as status_name, scope_project_id,
                       count(distinct status_category) as categories
                from {relation}
                group by _file_sha256, _source_file, lower(trim(name)), scope_project_id
                having count(distinct status_category) > 1
                order by status_name
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="Jira gives one status name one category within a scope; two in one catalog is a corrupt export",
        ),
        rules.not_empty("statuses"),
    ]


GATE = Gate(
    name=NAME,
    target="lake Parquet jira/statuses of the newly ingested files (ingest/jira/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=STATUS_CATALOG_COLUMNS,
)
