"""The mart catalogue (dbt docs) is only as good as its descriptions: every mart and every column has one.

Reads the yml files directly (no dbt parse: fast). A mart added without descriptions fails here, on purpose.
Columns cannot be left out of the yml either: marts enforce their contract, so dbt fails on an undeclared column.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from core.settings import DBT_PROJECT_DIR

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"


def _documented_models() -> dict[str, tuple[Path, dict]]:
    models: dict[str, tuple[Path, dict]] = {}
    for yml in sorted(MARTS_DIR.rglob("_*__models.yml")):
        for model in (yaml.safe_load(yml.read_text(encoding="utf-8")) or {}).get("models", []):
            models[model["name"]] = (yml, model)
    return models


def test_every_mart_model_and_column_has_a_description():
    models = _documented_models()
    sql_models = {p.stem: p for p in MARTS_DIR.rglob("*.sql")}
    assert sql_models, f"no mart models under {MARTS_DIR}"
    problems = [
        f"{p.relative_to(DBT_PROJECT_DIR)}: no entry in a _<area>__models.yml"
        for n, p in sorted(sql_models.items())
        if n not in models
    ]
    for name in sorted(sql_models.keys() & models.keys()):
        yml, model = models[name]
        where = f"{yml.relative_to(DBT_PROJECT_DIR)}: {name}"
        if not str(model.get("description") or "").strip():
            problems.append(f"{where}: no description")
        contract = (model.get("config") or {}).get("contract") or {}
        if contract.get("enforced") is not True:
            problems.append(f"{where}: contract not enforced (undeclared columns would escape the catalogue)")
        columns = model.get("columns") or []
        if not columns:
            problems.append(f"{where}: no columns documented")
        for column in columns:
            if not str(column.get("description") or "").strip():
                problems.append(f"{where}.{column.get('name')}: no description")
    assert not problems, "\n".join(problems)


def test_portfolio_marts_written_by_python_are_catalogued_column_for_column():
    """fct_portfolio_scores / _kano_mix come from pandas, not dbt: their yml must list exactly the written columns."""
    from portfolio.scoring import KANO_MIX_COLUMNS, SCORE_COLUMNS

    yml = MARTS_DIR / "portfolio" / "_portfolio_scoring__sources.yml"
    (source,) = yaml.safe_load(yml.read_text(encoding="utf-8"))["sources"]
    tables = {t["name"]: t for t in source["tables"]}
    for name, written in (("fct_portfolio_scores", SCORE_COLUMNS), ("fct_portfolio_kano_mix", KANO_MIX_COLUMNS)):
        table = tables[name]
        assert str(table.get("description") or "").strip(), name
        documented = [c["name"] for c in table["columns"]]
        assert documented == list(written), f"{name}: documented {documented}, written {list(written)}"
        undescribed = [c["name"] for c in table["columns"] if not str(c.get("description") or "").strip()]
        assert not undescribed, f"{name}: no description for {undescribed}"
