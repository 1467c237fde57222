{#-
    Jira changelog items (one per history x changed field): renamed, cast and deduplicated on
    (issue_key, history_id, item_index). Histories never change once written, so re-exports of an issue repeat
    the same items; the earliest ingested copy is kept.

    Incremental by INGESTION, like stg_analytics__events: each run reads the lake files ingested at or after the
    newest `ingested_at` already loaded (`>=` re-reads the newest file; the anti-join makes that harmless), so the
    cost of a run follows the new exports, not the whole history.
-#}
{{
    config(
        materialized=pmw_incremental_materialization('insert_only'),
        unique_key='changelog_item_id',
        incremental_strategy=pmw_incremental_strategy('insert_only'),
        on_schema_change='fail',
    )
}}

with source_items as (

    select * from {{ lake_source('jira', 'changelog') }}
    {% if is_incremental() %}
        where _ingested_at >= (
            select coalesce(max(loaded.ingested_at), cast('1900-01-01' as timestamp))
            from {{ this }} as loaded
        )
    {% endif %}

),

renamed as (

    select
        {{ surrogate_key(['issue_key', 'history_id', 'item_index']) }} as changelog_item_id,
        cast(issue_key as {{ dbt.type_string() }}) as issue_key,
        cast(issue_id as {{ dbt.type_string() }}) as issue_id,
        cast(history_id as {{ dbt.type_string() }}) as history_id,
        cast(item_index as {{ dbt.type_int() }}) as item_index,
        cast(changed_at as {{ dbt.type_timestamp() }}) as changed_at,
        cast(author_account_id as {{ dbt.type_string() }}) as author_account_id,
        cast(field as {{ dbt.type_string() }}) as field,
        cast(field_id as {{ dbt.type_string() }}) as field_id,
        cast(from_id as {{ dbt.type_string() }}) as from_id,
        cast(from_value as {{ dbt.type_string() }}) as from_value,
        cast(to_id as {{ dbt.type_string() }}) as to_id,
        cast(to_value as {{ dbt.type_string() }}) as to_value,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_source_format as {{ dbt.type_string() }}) as source_format,
        cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source_items

),

ranked_copies as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.changelog_item_id
            order by renamed.ingested_at, renamed.file_sha256, renamed.source_record_number
        ) as copy_rank
    from renamed

)

select
    ranked_copies.changelog_item_id,
    ranked_copies.issue_key,
    ranked_copies.issue_id,
    ranked_copies.history_id,
    ranked_copies.item_index,
    ranked_copies.changed_at,
    ranked_copies.author_account_id,
    ranked_copies.field,
    ranked_copies.field_id,
    ranked_copies.from_id,
    ranked_copies.from_value,
    ranked_copies.to_id,
    ranked_copies.to_value,
    ranked_copies.source_file,
    ranked_copies.source_format,
    ranked_copies.source_record_number,
    ranked_copies.file_sha256,
    ranked_copies.ingested_at
from ranked_copies
where
    ranked_copies.copy_rank = 1
{% if is_incremental() %}
        and not exists (
            select 1
            from {{ this }} as loaded
            where loaded.changelog_item_id = ranked_copies.changelog_item_id
        )
{% endif %}
