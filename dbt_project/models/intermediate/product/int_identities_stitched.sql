{#-
    Identity map: each anonymous id belongs to the FIRST user it was seen identified as (earliest event carrying
    both ids; ties broken by event_id), so one anonymous id never splits across users.

    Incremental: only staging rows ingested since the last run can add or change a mapping. They are merged with
    the current mapping of the same anonymous ids and the earliest wins again, so a late event that identifies an
    anonymous id earlier than before re-points it.
-#}
{{
    config(
        materialized=pmw_incremental_materialization('replace_by_key'),
        unique_key='anonymous_id',
        incremental_strategy=pmw_incremental_strategy('replace_by_key'),
        on_schema_change='fail',
    )
}}

with identified_events as (

    select
        events.anonymous_id,
        events.user_id,
        events.event_at,
        events.event_id
    from {{ ref('stg_analytics__events') }} as events
    where
        events.anonymous_id is not null
        and events.user_id is not null
    {% if is_incremental() %}
            and events.ingested_at >= (
                select coalesce(max(stitched.stitched_through), cast('1900-01-01' as timestamp))
                from {{ this }} as stitched
            )
    {% endif %}

),

candidates as (

    select
        identified_events.anonymous_id,
        identified_events.user_id,
        identified_events.event_at as first_identified_at,
        identified_events.event_id as identifying_event_id
    from identified_events

    {% if is_incremental() %}
        union all

        select
            stitched.anonymous_id,
            stitched.user_id,
            stitched.first_identified_at,
            stitched.identifying_event_id
        from {{ this }} as stitched
        where stitched.anonymous_id in (select identified_events.anonymous_id from identified_events)
    {% endif %}

),

ranked as (

    select
        candidates.*,
        row_number() over (
            partition by candidates.anonymous_id
            order by candidates.first_identified_at, candidates.identifying_event_id
        ) as identification_rank
    from candidates

)

select
    ranked.anonymous_id,
    ranked.user_id,
    ranked.first_identified_at,
    ranked.identifying_event_id,
    -- The staging watermark this mapping was computed at: where the next run starts reading.
    (select max(events.ingested_at) from {{ ref('stg_analytics__events') }} as events) as stitched_through
from ranked
where ranked.identification_rank = 1
