{#-
    fct_sessions' bookkeeping. int_events_sessionized stamps every row it (re)computes with its batch's
    `sessionized_through`; fct_sessions re-aggregates the sessions stamped after the newest batch it has already
    consumed. That watermark is a build-time value, so it is kept out of the published mart: the post-hook
    record_sessions_watermark() writes it to a one-row table next to int_events_sessionized (the intermediate
    schema of the working warehouse, never published), in the model's transaction.
-#}
{% macro sessions_watermark_relation() -%}
    {%- set sessionized = ref('int_events_sessionized') -%}
    {{ return(api.Relation.create(
        database=sessionized.database, schema=sessionized.schema, identifier='fct_sessions_sessionized_through'
    )) }}
{%- endmacro %}

{#- The newest sessionisation batch fct_sessions has consumed; 1900-01-01 (everything is new) before any. -#}
{% macro sessions_watermark() -%}
    {%- set watermark = sessions_watermark_relation() -%}
    {%- if execute and adapter.get_relation(watermark.database, watermark.schema, watermark.identifier) -%}
        (select coalesce(max(done.sessionized_through), cast('1900-01-01' as timestamp)) from {{ watermark }} as done)
    {%- else -%}
        cast('1900-01-01' as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of fct_sessions: it has now consumed every batch int_events_sessionized holds. -#}
{% macro record_sessions_watermark() -%}
    {{ return(adapter.dispatch('record_sessions_watermark', 'product_metrics_warehouse')()) }}
{%- endmacro %}

{% macro duckdb__record_sessions_watermark() -%}
    create or replace table {{ sessions_watermark_relation() }} as
    select max(sessionized.sessionized_through) as sessionized_through
    from {{ ref('int_events_sessionized') }} as sessionized
{%- endmacro %}

{#- Spark: plain Parquet tables have no REPLACE TABLE AS SELECT (v2/Delta only); create once, overwrite. -#}
{% macro spark__record_sessions_watermark() -%}
    {%- do run_query('create table if not exists ' ~ sessions_watermark_relation()
        ~ ' (sessionized_through timestamp) using parquet') -%}
    insert overwrite table {{ sessions_watermark_relation() }}
    select max(sessionized.sessionized_through) as sessionized_through
    from {{ ref('int_events_sessionized') }} as sessionized
{%- endmacro %}

{#-
    Pre-hook of fct_sessions. When int_events_sessionized re-cuts a user's sessions, a session can disappear
    (two merged by a late event, or all its events re-keyed to another user after identity stitching). Its id
    then no longer exists upstream, and delete+insert on session_id alone would keep it. Only sessions of users
    touched by the batches not yet consumed can vanish: their user key, or (for an anonymous user whose events
    all moved to the stitched user) their anonymous id, appears on those batches' rows.
-#}
{% macro delete_superseded_sessions() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as sessions
        where
            (
                sessions.user_key in (
                    select rewritten.user_key
                    from {{ ref('int_events_sessionized') }} as rewritten
                    where rewritten.sessionized_through > {{ sessions_watermark() }}
                )
                or sessions.anonymous_id in (
                    select rewritten.anonymous_id
                    from {{ ref('int_events_sessionized') }} as rewritten
                    where rewritten.sessionized_through > {{ sessions_watermark() }}
                )
            )
            and not exists (
                select 1
                from {{ ref('int_events_sessionized') }} as current_events
                where current_events.session_id = sessions.session_id
            )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
