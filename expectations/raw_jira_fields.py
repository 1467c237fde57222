"""Gate on newly ingested Jira field catalogs (`/field`): the lake Parquet files of one ingest run.

The contract is ingest/jira/contract.py. Custom fields (story points, RICE fields) are found by name in this
catalog, then read by id from the issues, so an id and its name must both be there, and "custom" must mean a
customfield_ id as Jira numbers them.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx

from core.config import PipelineConfig
from expectations import lake_rules as rules
from expectations.runner import DerivedCheck, Gate
from ingest.jira.contract import FIELD_CATALOG_COLUMNS

NAME = "raw_jira_fields"

E = gx.expectations


def build_suite(config: PipelineConfig, *, now: dt.datetime) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=NAME,
        expectations=[
            rules.contract_columns(FIELD_CATALOG_COLUMNS, "jira/fields"),
            *rules.not_null(
                ("field_id", "name", "is_custom", "_file_sha256"),
                "custom fields are found by name and read by id; both must be there",
            ),
        ],
    )


def derived_checks(config: PipelineConfig) -> list[DerivedCheck]:
    return [
        DerivedCheck(
            name="custom_means_a_customfield_id",
            sql="""
                select field_id, name, is_custom, _file_sha256, _source_file, _record_number from {relation}
                where is_custom is not null and is_custom != starts_with(field_id, 'customfield_')
                order by field_id
            """,
            expectation=E.ExpectTableRowCountToEqual(value=0),
            severity="error",
            why="Jira numbers every custom field customfield_<n>; a mismatch is a shifted column in the catalog",
        ),
        rules.not_empty("fields"),
    ]


GATE = Gate(
    name=NAME,
    target="lake Parquet jira/fields of the newly ingested files (ingest/jira/contract.py)",
    build_suite=build_suite,
    derived_checks=derived_checks,
    contract=FIELD_CATALOG_COLUMNS,
)
