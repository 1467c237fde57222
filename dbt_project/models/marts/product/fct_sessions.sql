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

    select
        sessionized.session_id,
        sessionized.event_id,
        sessionized.event_at,
        sessionized.user_key,
        sessionized.resolved_user_id,
        sessionized.anonymous_id,
        sessionized.source,
        sessionized.platform,
        sessionized.country,
        sessionized.event_name,
        sessionized.revenue
    from {{ ref('int_events_sessionized') }} as sessionized
    {% if is_incremental() %}
        where sessionized.session_id in (
            select rewritten.session_id
            from {{ ref('int_events_sessionized') }} as rewritten
            where rewritten.sessionized_through > {{ consumed_batches('fct_sessions') }}
        )
    {% endif %}

),

-- First and last events in one aggregate: min()/max() of a record led by (event_at, event_id) is the whole
-- first/last row, so no window sorts the session's events (at 30M events two row_number() windows over every
-- event were most of this model's time).
session_totals as (

    select
        session_events.session_id,
        min(session_events.event_at) as session_started_at,
        max(session_events.event_at) as session_ended_at,
        count(*) as event_count,
        sum(coalesce(session_events.revenue, 0)) as revenue,
        min({{ ordered_record('session_events', [
            'event_at', 'event_id', 'user_key', 'resolved_user_id', 'source', 'platform', 'country', 'event_name'
        ]) }}) as first_event,
        max({{ ordered_record('session_events', ['event_at', 'event_id', 'event_name']) }}) as last_event,
        min(
            case
                when session_events.anonymous_id is not null
                    then {{ ordered_record('session_events', ['event_at', 'event_id', 'anonymous_id']) }}
            end
        ) as first_anonymous
    from session_events
    group by session_events.session_id

)

select
    cast(session_totals.session_id as {{ dbt.type_string() }}) as session_id,
    cast(session_totals.first_event.user_key as {{ dbt.type_string() }}) as user_key,
    cast(session_totals.first_event.resolved_user_id as {{ dbt.type_string() }}) as user_id,
    cast(session_totals.first_anonymous.anonymous_id as {{ dbt.type_string() }}) as anonymous_id,
    cast(session_totals.first_event.source as {{ dbt.type_string() }}) as source,
    cast(session_totals.first_event.platform as {{ dbt.type_string() }}) as platform,
    cast(session_totals.first_event.country as {{ dbt.type_string() }}) as country,
    cast(session_totals.session_started_at as timestamp) as session_started_at,
    cast(session_totals.session_ended_at as timestamp) as session_ended_at,
    {{ seconds_between('session_totals.session_started_at', 'session_totals.session_ended_at') }}
        as duration_seconds,
    cast(session_totals.event_count as bigint) as event_count,
    cast(session_totals.first_event.event_name as {{ dbt.type_string() }}) as first_event_name,
    cast(session_totals.last_event.event_name as {{ dbt.type_string() }}) as last_event_name,
    cast(session_totals.revenue as decimal(18, 6)) as revenue
from session_totals
