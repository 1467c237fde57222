{#-
    Every identifiable event with its resolved user and its session.
    The full reasoning is the docs block int_events_sessionized in product/_product__docs.md.
-#}
{{
    config(
        materialized=pmw_incremental_materialization('replace_by_key'),
        unique_key='event_id',
        incremental_strategy=pmw_incremental_strategy('replace_by_key'),
        on_schema_change='fail',
    )
}}

{%- set inactivity_minutes = var('session_inactivity_minutes') | int -%}

with staged_events as {{ inlined_cte() }} (

    select * from {{ ref('stg_analytics__events') }}

),

identities as (

    select
        stitched.anonymous_id,
        stitched.user_id as stitched_user_id
    from {{ ref('int_identities_stitched') }} as stitched

),

resolved_events as {{ inlined_cte() }} (

    select
        staged_events.event_id,
        coalesce(
            staged_events.user_id,
            identities.stitched_user_id,
            {{ dbt.concat(["'anon:'", 'staged_events.anonymous_id']) }}
        ) as user_key,
        coalesce(staged_events.user_id, identities.stitched_user_id) as resolved_user_id,
        staged_events.user_id,
        staged_events.anonymous_id,
        staged_events.source,
        staged_events.event_name,
        staged_events.event_at,
        staged_events.platform,
        staged_events.country,
        staged_events.revenue,
        staged_events.properties,
        staged_events.vendor_session_key,
        staged_events.ingested_at,
        staged_events.loaded_at
    from staged_events
    left join identities
        on
            staged_events.user_id is null
            and staged_events.anonymous_id = identities.anonymous_id
    where staged_events.user_id is not null or staged_events.anonymous_id is not null

),

{% if is_incremental() %}

    new_events as (

        select
            resolved_events.user_key,
            resolved_events.user_id,
            resolved_events.anonymous_id,
            resolved_events.event_at
        from resolved_events
        where resolved_events.loaded_at > (
            select coalesce(max(sessionized.sessionized_through), cast('1900-01-01' as timestamp))
            from {{ this }} as sessionized
        )

    ),

    -- Only a new event carrying both ids can (re)stitch an anonymous id.
    restitched_anonymous_ids as (

        select distinct new_events.anonymous_id
        from new_events
        where new_events.user_id is not null and new_events.anonymous_id is not null

    ),

    rekeyed_events as (

        select
            resolved_events.event_at,
            resolved_events.user_key,
            sessionized.user_key as previous_user_key
        from resolved_events
        inner join {{ this }} as sessionized
            on resolved_events.event_id = sessionized.event_id
        where
            resolved_events.user_id is null
            and resolved_events.anonymous_id in (
                select restitched_anonymous_ids.anonymous_id from restitched_anonymous_ids
            )
            and resolved_events.user_key != sessionized.user_key

    ),

    changes as (

        select
            new_events.user_key,
            new_events.event_at
        from new_events

        union all

        select
            rekeyed_events.user_key,
            rekeyed_events.event_at
        from rekeyed_events

        union all

        select
            rekeyed_events.previous_user_key as user_key,
            rekeyed_events.event_at
        from rekeyed_events

    ),

    affected_users as (

        select
            changes.user_key,
            min(changes.event_at) as earliest_changed_at
        from changes
        group by changes.user_key

    ),

    recompute_points as (

        select
            affected_users.user_key,
            coalesce(
                max(sessionized.session_started_at), affected_users.earliest_changed_at
            ) as recompute_from
        from affected_users
        left join {{ this }} as sessionized
            on
                affected_users.user_key = sessionized.user_key
                and sessionized.event_at < affected_users.earliest_changed_at
        group by affected_users.user_key, affected_users.earliest_changed_at

    ),

    -- Stored once (a night's few affected events), not inlined: computed where read, the engine joined all of
    -- staging to the session cut before this filter (127 s of a 30M night).
    events_to_sessionize as (

        select resolved_events.*
        from resolved_events
        inner join recompute_points
            on
                resolved_events.user_key = recompute_points.user_key
                and resolved_events.event_at >= recompute_points.recompute_from

    ),

{% else %}

    -- Every event: computed where read (the session cut's narrow scan, then the wide rows), never stored whole.
    events_to_sessionize as {{ inlined_cte() }} (

        select resolved_events.* from resolved_events

    ),

{% endif %}

-- The session cut reads four narrow columns: the windows sort (event_id, user_key, event_at, vendor key) instead of
-- whole events with their JSON properties, and the wide rows join back once by event_id.
session_keys as (

    select
        events_to_sessionize.event_id,
        events_to_sessionize.user_key,
        events_to_sessionize.event_at,
        events_to_sessionize.vendor_session_key
    from events_to_sessionize

),

sequenced as (

    select
        session_keys.*,
        lag(session_keys.event_at) over (
            partition by session_keys.user_key
            order by session_keys.event_at, session_keys.event_id
        ) as previous_event_at,
        lag(session_keys.vendor_session_key) over (
            partition by session_keys.user_key
            order by session_keys.event_at, session_keys.event_id
        ) as previous_vendor_session_key
    from session_keys

),

flagged as (

    select
        sequenced.event_id,
        sequenced.user_key,
        sequenced.event_at,
        case
            when sequenced.previous_event_at is null then 1
            when
                sequenced.event_at
                > {{ dbt.dateadd('minute', inactivity_minutes, 'sequenced.previous_event_at') }}
                then 1
            {% if var('split_sessions_on_vendor_session_change') %}
                when sequenced.vendor_session_key != sequenced.previous_vendor_session_key then 1
            {% endif %}
            else 0
        end as session_start_flag
    from sequenced

),

-- An event's session started at the latest session start at or before it in the user's order: a running max
-- of the start events' times (event_at never decreases along that order).
session_starts as (

    select
        flagged.event_id,
        flagged.session_start_flag,
        max(case when flagged.session_start_flag = 1 then flagged.event_at end) over (
            partition by flagged.user_key
            order by flagged.event_at, flagged.event_id
            rows between unbounded preceding and current row
        ) as session_started_at
    from flagged

)

select
    events_to_sessionize.event_id,
    {{ surrogate_key(['events_to_sessionize.user_key', 'session_starts.session_started_at']) }} as session_id,
    events_to_sessionize.user_key,
    events_to_sessionize.resolved_user_id,
    events_to_sessionize.user_id,
    events_to_sessionize.anonymous_id,
    events_to_sessionize.source,
    events_to_sessionize.event_name,
    events_to_sessionize.event_at,
    events_to_sessionize.platform,
    events_to_sessionize.country,
    events_to_sessionize.revenue,
    events_to_sessionize.properties,
    events_to_sessionize.vendor_session_key,
    session_starts.session_started_at,
    session_starts.session_start_flag = 1 as is_session_start,
    events_to_sessionize.ingested_at,
    -- The staging load (stg_analytics__events.loaded_at) this row was (re)computed at: the next run reads only
    -- rows loaded later, and fct_sessions finds the sessions this run rewrote by it.
    (select max(events.loaded_at) from {{ ref('stg_analytics__events') }} as events) as sessionized_through
from events_to_sessionize
inner join session_starts
    on events_to_sessionize.event_id = session_starts.event_id
