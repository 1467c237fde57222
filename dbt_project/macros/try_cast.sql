{#- A cast that gives NULL instead of failing on an unreadable value (e.g. a story-points changelog item holding
    free text). dbt.safe_cast is a plain cast on dbt-duckdb, so this is dispatched: DuckDB and Spark (3.2+) both
    have try_cast; other adapters fall back to dbt.safe_cast. -#}
{% macro try_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('try_cast', 'product_metrics_warehouse')(expression, data_type)) }}
{%- endmacro %}

{% macro duckdb__try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}

{% macro spark__try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}

{% macro default__try_cast(expression, data_type) -%}
    {{ dbt.safe_cast(expression, data_type) }}
{%- endmacro %}
