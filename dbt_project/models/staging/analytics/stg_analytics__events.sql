{#-
    Analytics events: renamed, cast and deduplicated. The only model that reads the source.

    Incremental by INGESTION, not by event time: each run reads the lake files ingested at or after the newest
    `ingested_at` already loaded, so a late file full of old events is still picked up. `>=` (not `>`) re-reads
    the newest file, which costs little and covers a second file stamped with the same instant; the anti-join
    on event_id below makes that harmless.

    Dedupe on (source, event_key) keeping the earliest ingested copy: within a batch by first_copies() (ordered
    by ingestion time, file, member, line), across batches by never re-inserting an event_id that is already
    loaded (so a duplicate arriving in a later file neither adds a row nor replaces the first copy).
-#}
{{
    config(
        materialized=pmw_incremental_materialization('insert_only'),
        unique_key='event_id',
        incremental_strategy=pmw_incremental_strategy('insert_only'),
        on_schema_change='fail',
    )
}}

{%- set newly_ingested = none -%}
{%- if is_incremental() -%}
    {%- set newly_ingested -%}
        _ingested_at >= (
            select coalesce(max(loaded.ingested_at), cast('1900-01-01' as timestamp))
            from {{ this }} as loaded
        )
    {%- endset -%}
{%- endif %}

with kept_copies as (

    {{ first_copies(
        lake_source('analytics', 'events'),
        newly_ingested,
        ['source', 'event_key'],
        ['_ingested_at', '_file_sha256', '_source_member', '_line_number']
    ) }}

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
    from kept_copies

),

-- Vendors send ISO codes (Mixpanel: US) or English names (Amplitude, Segment: United States).
country_codes as (

    select distinct country_code from {{ ref('country_names') }}

)

select
    renamed.event_id,
    renamed.event_key,
    renamed.source,
    renamed.event_name,
    renamed.user_id,
    renamed.anonymous_id,
    renamed.vendor_session_key,
    renamed.event_at,
    renamed.received_at,
    renamed.platform,
    renamed.vendor_platform,
    coalesce(by_code.country_code, by_name.country_code) as country,
    renamed.vendor_country,
    renamed.revenue,
    renamed.properties,
    renamed.user_properties,
    renamed.source_file,
    renamed.source_member,
    renamed.source_line_number,
    renamed.file_sha256,
    renamed.ingested_at,
    renamed.loaded_at
from renamed
left join country_codes as by_code
    on upper(renamed.vendor_country) = by_code.country_code
left join {{ ref('country_names') }} as by_name
    on lower(renamed.vendor_country) = lower(by_name.country_name)
{% if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as loaded
        where loaded.event_id = renamed.event_id
    )
{% endif %}
