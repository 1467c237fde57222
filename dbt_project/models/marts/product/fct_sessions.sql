{#-
    One row per session (int_events_sessionized defines them). Identity and context columns are those of the
    session's first event; user_id is the resolved user (NULL while the user is anonymous); anonymous_id is the
    first anonymous id seen in the session.

    Incremental: int_events_sessionized rewrites every event of each session it re-cuts in one batch (stamped
    with that batch's `sessionized_through`), so this model re-aggregates exactly the sessions stamped later
    than the newest batch it consumed (none when the run loaded nothing), and the pre-hook drops sessions that no
    longer exist upstream. That watermark is bookkeeping of the working warehouse (macros/
    sessionized_batches.sql), not a column: the published mart is a function of the landed data only.
-#}
{{
    config(
        materialized=pmw_incremental_materialization('replace_by_key'),
        unique_key='session_id',
        incremental_strategy=pmw_incremental_strategy('replace_by_key'),
        on_schema_change='fail',
        pre_hook="{{ delete_superseded_sessions() }}",
        post_hook="{{ record_consumed_batches('fct_sessions') }}",
    )
}}

with session_events as (

    select sessionized.*
    from {{ ref('int_events_sessionized') }} as sessionized
    {% if is_incremental() %}
        where sessionized.session_id in (
            select rewritten.session_id
            from {{ ref('int_events_sessionized') }} as rewritten
            where rewritten.sessionized_through > {{ consumed_batches('fct_sessions') }}
        )
    {% endif %}

),

ordered_events as (

    select
        session_events.*,
        row_number() over (
            partition by session_events.session_id
            order by session_events.event_at, session_events.event_id
        ) as position_from_start,
        row_number() over (
            partition by session_events.session_id
            order by session_events.event_at desc, session_events.event_id desc
        ) as position_from_end
    from session_events

),

session_totals as (

    select
        ordered_events.session_id,
        min(ordered_events.event_at) as session_started_at,
        max(ordered_events.event_at) as session_ended_at,
        count(*) as event_count,
        sum(coalesce(ordered_events.revenue, 0)) as revenue
    from ordered_events
    group by ordered_events.session_id

),

first_anonymous_ids as (

    select
        ranked.session_id,
        ranked.anonymous_id
    from (
        select
            ordered_events.session_id,
            ordered_events.anonymous_id,
            row_number() over (
                partition by ordered_events.session_id
                order by ordered_events.position_from_start
            ) as anonymous_rank
        from ordered_events
        where ordered_events.anonymous_id is not null
    ) as ranked
    where ranked.anonymous_rank = 1

),

first_events as (

    select ordered_events.*
    from ordered_events
    where ordered_events.position_from_start = 1

),

last_events as (

    select ordered_events.*
    from ordered_events
    where ordered_events.position_from_end = 1

)

select
    cast(session_totals.session_id as {{ dbt.type_string() }}) as session_id,
    cast(first_events.user_key as {{ dbt.type_string() }}) as user_key,
    cast(first_events.resolved_user_id as {{ dbt.type_string() }}) as user_id,
    cast(first_anonymous_ids.anonymous_id as {{ dbt.type_string() }}) as anonymous_id,
    cast(first_events.source as {{ dbt.type_string() }}) as source,
    cast(first_events.platform as {{ dbt.type_string() }}) as platform,
    cast(first_events.country as {{ dbt.type_string() }}) as country,
    cast(session_totals.session_started_at as timestamp) as session_started_at,
    cast(session_totals.session_ended_at as timestamp) as session_ended_at,
    {{ seconds_between('session_totals.session_started_at', 'session_totals.session_ended_at') }}
        as duration_seconds,
    cast(session_totals.event_count as bigint) as event_count,
    cast(first_events.event_name as {{ dbt.type_string() }}) as first_event_name,
    cast(last_events.event_name as {{ dbt.type_string() }}) as last_event_name,
    cast(session_totals.revenue as decimal(18, 6)) as revenue
from session_totals
inner join first_events
    on session_totals.session_id = first_events.session_id
inner join last_events
    on session_totals.session_id = last_events.session_id
left join first_anonymous_ids
    on session_totals.session_id = first_anonymous_ids.session_id
