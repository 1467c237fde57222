{#-
    Analytics events: renamed, cast and deduplicated. The only model that reads the source.

    Incremental by INGESTION, not by event time: each run reads the lake files ingested at or after the newest
    `ingested_at` already loaded, so a late file full of old events is still picked up. `>=` (not `>`) re-reads
    the newest file, which costs little and covers a second file stamped with the same instant; the anti-join
    on event_id below makes that harmless.

    Dedupe on (source, event_key) keeping the earliest ingested copy: within a batch by row_number, across
    batches by never re-inserting an event_id that is already loaded (so a duplicate arriving in a later file
    neither adds a row nor replaces the first copy).
-#}
{{
    config(
        materialized=pmw_incremental_materialization('insert_only'),
        unique_key='event_id',
        incremental_strategy=pmw_incremental_strategy('insert_only'),
        on_schema_change='fail',
    )
}}

with source_events as (

    select * from {{ lake_source('analytics', 'events') }}
    {% if is_incremental() %}
        where _ingested_at >= (
            select coalesce(max(loaded.ingested_at), cast('1900-01-01' as timestamp))
            from {{ this }} as loaded
        )
    {% endif %}

),

renamed as (

    select
        {{ surrogate_key(['source', 'event_key']) }} as event_id,
        cast(event_key as {{ dbt.type_string() }}) as event_key,
        cast(source as {{ dbt.type_string() }}) as source,
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        -- Empty ids are no ids: they must not stitch identities or merge users.
        cast(nullif(trim(user_id), '') as {{ dbt.type_string() }}) as user_id,
        cast(nullif(trim(anonymous_id), '') as {{ dbt.type_string() }}) as anonymous_id,
        cast(nullif(trim(session_key), '') as {{ dbt.type_string() }}) as vendor_session_key,
        cast(event_time as {{ dbt.type_timestamp() }}) as event_at,
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at,
        -- One vocabulary across vendors (Mixpanel's $os says "Windows" where Amplitude says "Web").
        {{ normalized_platform('platform') }} as platform,
        cast(platform as {{ dbt.type_string() }}) as vendor_platform,
        cast(nullif(trim(country), '') as {{ dbt.type_string() }}) as vendor_country,
        cast(revenue as decimal(18, 6)) as revenue,
        cast(properties as {{ dbt.type_string() }}) as properties,
        cast(user_properties as {{ dbt.type_string() }}) as user_properties,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_source_member as {{ dbt.type_string() }}) as source_member,
        cast(_line_number as {{ dbt.type_bigint() }}) as source_line_number,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at,
        -- The dbt invocation that loaded the row (UTC): strictly later for every later run, so downstream
        -- incremental models can read exactly the rows loaded since they last ran, with `>`, and a run that
        -- loads nothing leaves them nothing to redo.
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }}) as loaded_at
    from source_events

),

ranked_copies as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.event_id
            order by
                renamed.ingested_at,
                renamed.file_sha256,
                renamed.source_member,
                renamed.source_line_number
        ) as copy_rank
    from renamed

),

-- Vendors send ISO codes (Mixpanel: US) or English names (Amplitude, Segment: United States).
country_codes as (

    select distinct country_code from {{ ref('country_names') }}

)

select
    ranked_copies.event_id,
    ranked_copies.event_key,
    ranked_copies.source,
    ranked_copies.event_name,
    ranked_copies.user_id,
    ranked_copies.anonymous_id,
    ranked_copies.vendor_session_key,
    ranked_copies.event_at,
    ranked_copies.received_at,
    ranked_copies.platform,
    ranked_copies.vendor_platform,
    coalesce(by_code.country_code, by_name.country_code) as country,
    ranked_copies.vendor_country,
    ranked_copies.revenue,
    ranked_copies.properties,
    ranked_copies.user_properties,
    ranked_copies.source_file,
    ranked_copies.source_member,
    ranked_copies.source_line_number,
    ranked_copies.file_sha256,
    ranked_copies.ingested_at,
    ranked_copies.loaded_at
from ranked_copies
left join country_codes as by_code
    on upper(ranked_copies.vendor_country) = by_code.country_code
left join {{ ref('country_names') }} as by_name
    on lower(ranked_copies.vendor_country) = lower(by_name.country_name)
where
    ranked_copies.copy_rank = 1
{% if is_incremental() %}
        and not exists (
            select 1
            from {{ this }} as loaded
            where loaded.event_id = ranked_copies.event_id
        )
{% endif %}
