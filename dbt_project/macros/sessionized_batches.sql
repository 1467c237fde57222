{#-
    The batches of int_events_sessionized a mart has consumed, for the marts that recompute only what newer batches
    touch (fct_sessions, fct_active_users, fct_funnel_conversion). int_events_sessionized stamps every row it
    (re)computes with its batch's `sessionized_through`; such a mart reads the rows stamped later than the newest
    batch it consumed, and records the new newest batch in a post-hook, in the model's transaction. The watermark
    is build-time bookkeeping, kept in a one-row table <consumer>_sessionized_through of the working warehouse's
    intermediate schema (never published): the published mart is a function of the landed data only.
-#}
{% macro consumed_batches_relation(consumer) -%}
    {%- set sessionized = ref('int_events_sessionized') -%}
    {{ return(api.Relation.create(
        database=sessionized.database, schema=sessionized.schema, identifier=consumer ~ '_sessionized_through'
    )) }}
{%- endmacro %}

{#- The newest sessionisation batch `consumer` has consumed; 1900-01-01 (everything is new) before any. -#}
{% macro consumed_batches(consumer) -%}
    {%- set watermark = consumed_batches_relation(consumer) -%}
    {%- if execute and adapter.get_relation(watermark.database, watermark.schema, watermark.identifier) -%}
        (select coalesce(max(done.sessionized_through), cast('1900-01-01' as timestamp)) from {{ watermark }} as done)
    {%- else -%}
        cast('1900-01-01' as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of `consumer`: it has now consumed every batch int_events_sessionized holds. -#}
{% macro record_consumed_batches(consumer) -%}
    {{ return(adapter.dispatch('record_consumed_batches', 'product_metrics_warehouse')(consumer)) }}
{%- endmacro %}

{% macro duckdb__record_consumed_batches(consumer) -%}
    create or replace table {{ consumed_batches_relation(consumer) }} as
    select max(sessionized.sessionized_through) as sessionized_through
    from {{ ref('int_events_sessionized') }} as sessionized
{%- endmacro %}

{#- Spark: plain Parquet tables have no REPLACE TABLE AS SELECT (v2/Delta only); create once, overwrite. -#}
{% macro spark__record_consumed_batches(consumer) -%}
    {%- do run_query('create table if not exists ' ~ consumed_batches_relation(consumer)
        ~ ' (sessionized_through timestamp) using parquet') -%}
    insert overwrite table {{ consumed_batches_relation(consumer) }}
    select max(sessionized.sessionized_through) as sessionized_through
    from {{ ref('int_events_sessionized') }} as sessionized
{%- endmacro %}
