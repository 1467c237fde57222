{#-
    Jira issue links as exported: one row per link per issue per export, renamed and cast. Which export of an
    issue is current is decided in int_issue_links_matched_to_kept_exports, against stg_jira__issues.
-#}

with source_links as (

    select * from {{ lake_source('jira', 'issue_links') }}

)

select
    {{ surrogate_key(['_file_sha256', '_record_number', 'link_index']) }} as issue_link_version_id,
    cast(issue_key as {{ dbt.type_string() }}) as issue_key,
    cast(link_index as {{ dbt.type_int() }}) as link_index,
    cast(link_id as {{ dbt.type_string() }}) as link_id,
    cast(trim(link_type) as {{ dbt.type_string() }}) as link_type,
    cast(direction as {{ dbt.type_string() }}) as direction,
    cast(link_phrase as {{ dbt.type_string() }}) as link_phrase,
    cast(trim(linked_issue_key) as {{ dbt.type_string() }}) as linked_issue_key,
    cast(_source_file as {{ dbt.type_string() }}) as source_file,
    cast(_source_format as {{ dbt.type_string() }}) as source_format,
    cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
    cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
from source_links
where issue_key is not null and linked_issue_key is not null
