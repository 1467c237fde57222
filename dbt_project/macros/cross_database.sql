{#- The only engine-specific SQL in the project lives in these dispatched macros (DESIGN.md, "Beyond one
    machine"): `duckdb__` for the default engine, `default__` in portable SQL (Spark-compatible where the
    standard has no function, e.g. JSON access). -#}

{#- Text value of a top-level key of a JSON object held as text; NULL when the key is missing. -#}
{% macro json_text(json_column, key) -%}
    {{ return(adapter.dispatch('json_text', 'product_metrics_warehouse')(json_column, key)) }}
{%- endmacro %}

{% macro duckdb__json_text(json_column, key) -%}
    json_extract_string({{ json_column }}, '$."{{ key | replace("'", "''") }}"')
{%- endmacro %}

{% macro default__json_text(json_column, key) -%}
    get_json_object({{ json_column }}, '$.{{ key | replace("'", "''") }}')
{%- endmacro %}


{#- Seconds from one timestamp to a later one, with sub-second precision (as DOUBLE). -#}
{% macro seconds_between(start_at, end_at) -%}
    {{ return(adapter.dispatch('seconds_between', 'product_metrics_warehouse')(start_at, end_at)) }}
{%- endmacro %}

{% macro duckdb__seconds_between(start_at, end_at) -%}
    cast(epoch({{ end_at }}) - epoch({{ start_at }}) as double)
{%- endmacro %}

{% macro default__seconds_between(start_at, end_at) -%}
    cast({{ dbt.datediff(start_at, end_at, 'millisecond') }} as double) / 1000.0
{%- endmacro %}


{#- The median of a numeric expression (an aggregate). -#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'product_metrics_warehouse')(expression)) }}
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    median({{ expression }})
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}


{#- One row per calendar day from start_date to end_date inclusive, as column `calendar_date` (DATE).
    Both arguments are scalar SQL expressions (e.g. scalar subqueries). -#}
{% macro date_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_spine', 'product_metrics_warehouse')(start_date, end_date)) }}
{%- endmacro %}

{% macro duckdb__date_spine(start_date, end_date) -%}
    select cast(spine.generate_series as date) as calendar_date
    from generate_series(
        cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval 1 day
    ) as spine
    -- no rows (rather than one NULL day) when the bounds are NULL, i.e. there is no data yet
    where spine.generate_series is not null
{%- endmacro %}

{% macro default__date_spine(start_date, end_date) -%}
    {#- Portable: day offsets 0..99999 (about 270 years) from a cross join of digits. -#}
    with digits as (
        select 0 as digit union all select 1 union all select 2 union all select 3 union all select 4
        union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
    ),

    day_offsets as (
        select
            ones.digit + 10 * tens.digit + 100 * hundreds.digit + 1000 * thousands.digit
            + 10000 * ten_thousands.digit as day_offset
        from digits as ones
        cross join digits as tens
        cross join digits as hundreds
        cross join digits as thousands
        cross join digits as ten_thousands
    )

    select cast({{ dbt.dateadd('day', 'day_offset', start_date) }} as date) as calendar_date
    from day_offsets
    where day_offset <= {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}


{#- A record (struct) of columns of one relation, compared field by field in the order given: min()/max() of it
    over a group pick the whole row that is first/last by those fields, in one aggregate (no window, no sort).
    Fields are then read as `<record>.<column>`. -#}
{% macro ordered_record(relation_alias, columns) -%}
    {{ return(adapter.dispatch('ordered_record', 'product_metrics_warehouse')(relation_alias, columns)) }}
{%- endmacro %}

{% macro duckdb__ordered_record(relation_alias, columns) -%}
    struct_pack({% for column in columns %}{{ column }} := {{ relation_alias }}.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{% macro default__ordered_record(relation_alias, columns) -%}
    named_struct({% for column in columns %}'{{ column }}', {{ relation_alias }}.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}


{#- Put after `<name> as` in a WITH list for a CTE read more than once that must be computed where it is read (its
    filters and column pruning pushed into each read) rather than stored once in full: DuckDB stores every CTE
    referenced twice, which for wide event rows means writing them all out (spilling, at tens of millions).
    Engines without the hint get nothing (Spark inlines CTEs). -#}
{% macro inlined_cte() -%}
    {{ return(adapter.dispatch('inlined_cte', 'product_metrics_warehouse')()) }}
{%- endmacro %}

{% macro duckdb__inlined_cte() -%}
    not materialized
{%- endmacro %}

{% macro default__inlined_cte() -%}
{%- endmacro %}
