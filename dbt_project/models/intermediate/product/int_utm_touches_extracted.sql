{#-
    The UTM fields of every staged event that carries one, extracted once (fct_customer_acquisition's first-touch
    attribution reads them): the event's own utm_source / utm_campaign (Mixpanel's UTM super properties, or utm_*
    sent as Amplitude event_properties) and its user properties' initial_utm_* (Amplitude's first touch; 'EMPTY',
    the Browser SDK's marker for a first visit without UTM, is no value) and utm_* (the latest visit's).

    Incremental by staging load: staged events never change (stg_analytics__events is insert-only), so each build
    reads only the rows loaded since its own newest loaded_at, and a night's cost follows what landed instead of
    matching text over every event ever loaded. Events with none of the six fields have no row.
-#}
{{
    config(
        materialized=pmw_incremental_materialization('insert_only'),
        unique_key='event_id',
        incremental_strategy=pmw_incremental_strategy('insert_only'),
        on_schema_change='fail',
    )
}}

with new_events as (

    select
        staged_events.event_id,
        staged_events.properties,
        staged_events.user_properties,
        staged_events.loaded_at
    from {{ ref('stg_analytics__events') }} as staged_events
    {% if is_incremental() -%}
        where staged_events.loaded_at > (
            select coalesce(max(extracted.loaded_at), cast('1900-01-01' as timestamp))
            from {{ this }} as extracted
        )
    {%- endif %}

),

-- Only events whose JSON mentions utm can carry a touch: the JSON is parsed for those alone.
events_with_utm as (

    select
        new_events.event_id,
        new_events.properties,
        new_events.user_properties,
        new_events.loaded_at
    from new_events
    where
        coalesce(new_events.properties, '') like '%utm%'
        or coalesce(new_events.user_properties, '') like '%utm%'

),

touch_fields as (

    select
        events_with_utm.event_id,
        nullif(nullif(trim({{ json_text('events_with_utm.user_properties', 'initial_utm_source') }}), ''), 'EMPTY')
            as initial_utm_source,
        nullif(nullif(trim({{ json_text('events_with_utm.user_properties', 'initial_utm_campaign') }}), ''), 'EMPTY')
            as initial_utm_campaign,
        nullif(trim({{ json_text('events_with_utm.properties', 'utm_source') }}), '') as event_utm_source,
        nullif(trim({{ json_text('events_with_utm.properties', 'utm_campaign') }}), '') as event_utm_campaign,
        nullif(trim({{ json_text('events_with_utm.user_properties', 'utm_source') }}), '') as user_utm_source,
        nullif(trim({{ json_text('events_with_utm.user_properties', 'utm_campaign') }}), '') as user_utm_campaign,
        events_with_utm.loaded_at
    from events_with_utm

)

select
    cast(touch_fields.event_id as {{ dbt.type_string() }}) as event_id,
    cast(touch_fields.initial_utm_source as {{ dbt.type_string() }}) as initial_utm_source,
    cast(touch_fields.initial_utm_campaign as {{ dbt.type_string() }}) as initial_utm_campaign,
    cast(touch_fields.event_utm_source as {{ dbt.type_string() }}) as event_utm_source,
    cast(touch_fields.event_utm_campaign as {{ dbt.type_string() }}) as event_utm_campaign,
    cast(touch_fields.user_utm_source as {{ dbt.type_string() }}) as user_utm_source,
    cast(touch_fields.user_utm_campaign as {{ dbt.type_string() }}) as user_utm_campaign,
    cast(touch_fields.loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
from touch_fields
where
    coalesce(
        touch_fields.initial_utm_source,
        touch_fields.initial_utm_campaign,
        touch_fields.event_utm_source,
        touch_fields.event_utm_campaign,
        touch_fields.user_utm_source,
        touch_fields.user_utm_campaign
    ) is not null
