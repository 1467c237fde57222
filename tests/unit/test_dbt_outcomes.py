"""The statistics macros behind fct_initiative_outcomes (macros/statistics.sql), rendered with plain Jinja and run
in DuckDB against scipy: the erfc fit behind every normal p-value, the Student t quantile of Welch intervals and
the approximate t p-value. (The exact hand-worked intervals are dbt unit tests: _portfolio__unit_tests.yml.)"""

from __future__ import annotations

import duckdb
import jinja2
import pytest
from scipy import stats

from core.settings import DBT_PROJECT_DIR

MACROS = (
    jinja2.Environment(undefined=jinja2.StrictUndefined)
    .from_string((DBT_PROJECT_DIR / "macros" / "statistics.sql").read_text(encoding="utf-8"))
    .module
)


def evaluate(expression: str, **columns: float) -> float:
    names = ", ".join(columns)
    values = ", ".join(repr(float(v)) for v in columns.values())
    with duckdb.connect() as con:
        return con.execute(f"select {expression} from (select {values}) as t({names})").fetchall()[0][0]


@pytest.mark.parametrize("z", [0.0, 0.5, 1.0, 1.959963984540054, 3.0, 5.0, -2.5])
def test_normal_p_value_matches_scipy(z):
    got = evaluate(str(MACROS.normal_two_sided_p_value("z")), z=z)
    assert got == pytest.approx(2 * stats.norm.sf(abs(z)), rel=2e-7)
    assert 0 <= got <= 1


@pytest.mark.parametrize(("df", "tolerance"), [(3.0, 0.01), (5.0, 1e-3), (8.5, 1e-4), (30.0, 1e-5), (1000.0, 1e-6)])
def test_t_quantile_matches_scipy(df, tolerance):
    assert evaluate(str(MACROS.t_quantile_975("df")), df=df) == pytest.approx(stats.t.ppf(0.975, df), abs=tolerance)


@pytest.mark.parametrize(
    ("t", "df", "tolerance"),
    [(0.0, 5.0, 0.01), (2.0, 5.0, 0.01), (2.0, 30.0, 0.01), (3.5, 12.0, 0.01), (-1.2, 8.0, 0.01), (6.0, 5.0, 0.1)],
)
def test_t_p_value_is_close_to_scipy(t, df, tolerance):
    got = evaluate(str(MACROS.t_two_sided_p_value("t", "df")), t=t, df=df)
    assert got == pytest.approx(2 * stats.t.sf(abs(t), df), rel=tolerance)
