{#-
    How an incremental model keeps its rows, per adapter: one place for every incremental model's
    `materialized=` and `incremental_strategy=`. The model names its kind:
    - 'insert_only': the incremental SELECT anti-joins {{ this }}, so it never re-sends a loaded key
      (stg_analytics__events, stg_jira__changelog);
    - 'replace_by_key': an incremental run re-sends keys already loaded, whose rows it replaces
      (int_events_sessionized, int_identities_stitched, fct_sessions; fct_active_users and
      fct_funnel_conversion by period).
    DuckDB runs both as delete+insert, its fastest exact strategy here. dbt-spark on plain Parquet tables has
    append and insert_overwrite only (merge needs Delta, Iceberg or Hudi): append is exact for 'insert_only';
    a 'replace_by_key' model is rebuilt whole (materialized table) rather than appended to, which would
    duplicate its re-sent keys. On a Spark with a table format (Delta on Databricks), merge would keep it
    incremental: that is this macro's Spark branch to change.
-#}
{% macro pmw_incremental_materialization(kind) -%}
    {{ return(adapter.dispatch('pmw_incremental_materialization', 'product_metrics_warehouse')(_pmw_incremental_kind(kind))) }}
{%- endmacro %}

{% macro pmw_incremental_strategy(kind) -%}
    {{ return(adapter.dispatch('pmw_incremental_strategy', 'product_metrics_warehouse')(_pmw_incremental_kind(kind))) }}
{%- endmacro %}

{% macro _pmw_incremental_kind(kind) -%}
    {%- if kind not in ('insert_only', 'replace_by_key') -%}
        {{ exceptions.raise_compiler_error("incremental kind must be 'insert_only' or 'replace_by_key', not " ~ kind) }}
    {%- endif -%}
    {{ return(kind) }}
{%- endmacro %}

{% macro default__pmw_incremental_materialization(kind) -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro default__pmw_incremental_strategy(kind) -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__pmw_incremental_materialization(kind) -%}
    {{ return('incremental' if kind == 'insert_only' else 'table') }}
{%- endmacro %}

{% macro spark__pmw_incremental_strategy(kind) -%}
    {{ return('append') }}
{%- endmacro %}
