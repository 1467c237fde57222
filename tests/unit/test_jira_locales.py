"""ingest/jira/locales.py covers every column the CSV parser reads, in every language the configuration accepts.

The columns read are taken from ingest/jira/csv_export.py itself (its single / multi / multi_or_null / has /
optional / _datetime calls), so a column added to the parser without its header names in each language fails here,
not on the first French export.
"""

from __future__ import annotations

import re
from collections import defaultdict

from core.config import JIRA_CSV_LOCALES
from core.settings import PROJECT_ROOT
from ingest.jira import locales
from ingest.jira.csv_export import CUSTOM_LOGICAL_FIELDS

CSV_PARSER = PROJECT_ROOT / "ingest" / "jira" / "csv_export.py"
_COLUMN_READ = re.compile(
    r'\b(?:single|multi|multi_or_null|has|optional|_datetime)\(\s*(?:cells,\s*|record\[1\],\s*)?"([a-z_]+)"'
)


def columns_the_parser_reads() -> set[str]:
    return set(_COLUMN_READ.findall(CSV_PARSER.read_text(encoding="utf-8")))


def test_the_supported_languages_are_the_configuration_s() -> None:
    assert locales.LOCALES == JIRA_CSV_LOCALES


def test_every_column_read_has_header_names_in_every_language() -> None:
    read = columns_the_parser_reads()
    assert {"issue_key", "summary", "status", "created", "sprint", "epic_link"} <= read  # the pattern still matches
    # Custom fields (story points, sprint, epic link, RICE) are matched by the instance's field names from
    # jira.custom_fields inside the translated "Custom field (...)" prefix, not through the header table.
    system_columns = read - set(CUSTOM_LOGICAL_FIELDS) - {"sprint"}
    missing = {
        column: [locale for locale in locales.LOCALES if not locales.HEADER_SYNONYMS.get(column, {}).get(locale)]
        for column in sorted(system_columns)
    }
    assert {column: langs for column, langs in missing.items() if langs} == {}
    assert set(locales.HEADER_SYNONYMS) <= read | {"sprint"}  # no dead entries either
    assert locales.HEADER_SYNONYMS["sprint"].keys() == set(locales.LOCALES)


def test_no_header_name_means_two_columns_across_the_languages() -> None:
    meanings: dict[str, set[str]] = defaultdict(set)
    for column, per_locale in locales.HEADER_SYNONYMS.items():
        for names in per_locale.values():
            for name in names:
                meanings[locales.fold(name)].add(column)
    assert {name: columns for name, columns in meanings.items() if len(columns) > 1} == {}


def test_every_other_language_table_covers_every_language() -> None:
    for table in (locales.CUSTOM_FIELD_PREFIXES, locales.ISSUE_LINK_PREFIXES, locales.EPIC_TYPE_NAMES,
                  locales.SUBTASK_TYPE_NAMES):  # fmt: skip
        assert set(table) == set(locales.LOCALES)
    for locale in locales.LOCALES:
        assert sorted(set(locales.MONTHS[locale].values())) == list(range(1, 13)), locale
        assert set(locales.STATUS_CATEGORY_NAMES[locale].values()) == {"new", "indeterminate", "done"}, locale
        assert set(locales.ISSUE_LINK_PREFIXES[locale]) == {"outward", "inward"}, locale
