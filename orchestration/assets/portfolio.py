"""Portfolio scoring (portfolio/): reads the marts from the working warehouse, scores, writes two marts back."""

import dagster as dg

from core.duckdb_connection import connect_duckdb
from ingest.common.locking import retry_transient
from orchestration.resources import DUCKDB_POOL, PROGRESS, PmwSettings
from portfolio.scoring import score_portfolio
from portfolio.warehouse import INPUT_MARTS, read_inputs, write_tables

PORTFOLIO_SCORES = dg.AssetKey(["marts", "fct_portfolio_scores"])
PORTFOLIO_KANO_MIX = dg.AssetKey(["marts", "fct_portfolio_kano_mix"])
PORTFOLIO_KEYS = [PORTFOLIO_SCORES, PORTFOLIO_KANO_MIX]

# Every mart read_inputs reads, fct_initiative_outcomes included (segment sizes come from the last two).
INPUT_KEYS = [dg.AssetKey(["marts", mart]) for mart in INPUT_MARTS.values()] + [
    dg.AssetKey(["marts", "fct_funnel_conversion"]),
    dg.AssetKey(["marts", "fct_retention_cohorts"]),
]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            PORTFOLIO_SCORES,
            deps=INPUT_KEYS,
            group_name="portfolio",
            kinds={"pandas", "duckdb"},
            description=(
                "RICE per initiative and per idea not implemented by one: inputs, where each came from, score, "
                "rank (portfolio/scoring.py). Unscorable items keep a row with a scoring_note."
            ),
        ),
        dg.AssetSpec(
            PORTFOLIO_KANO_MIX,
            deps=INPUT_KEYS,
            group_name="portfolio",
            kinds={"pandas", "duckdb"},
            description="Planned effort share per Kano category against portfolio.target_kano_mix.",
        ),
    ],
    pool=DUCKDB_POOL,
)
def portfolio_scores(context: dg.AssetExecutionContext, pmw: PmwSettings):
    config = pmw.config
    warehouse = str(pmw.paths.warehouse_path)
    connection = retry_transient(lambda: connect_duckdb(warehouse), what=f"opening {warehouse}", log=PROGRESS.warning)
    with connection as con:
        inputs = read_inputs(con, config)
        result = score_portfolio(**inputs, config=config.portfolio)
        written = write_tables(con, result)
    unscored = result.unscored
    for note in unscored:
        context.log.warning(note)
    PROGRESS.info(f"portfolio: {written['fct_portfolio_scores']} items scored or listed, {len(unscored)} not ranked")
    yield dg.MaterializeResult(
        asset_key=PORTFOLIO_SCORES,
        metadata={
            "rows": written["fct_portfolio_scores"],
            "unscored_items": len(unscored),
            "scoring_notes": dg.MetadataValue.json(unscored),
        },
    )
    yield dg.MaterializeResult(asset_key=PORTFOLIO_KANO_MIX, metadata={"rows": written["fct_portfolio_kano_mix"]})


defs = dg.Definitions(assets=[portfolio_scores])
