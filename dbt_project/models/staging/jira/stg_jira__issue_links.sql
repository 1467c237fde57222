{#-
    Jira issue links: one row per (issue_key, direction, link_type, linked_issue_key), as the export of the issue's
    kept version (stg_jira__issues: newest copy, JSON over CSV) shows them, so a link removed in a later export is
    gone and CSV and JSON copies of one link are not counted twice. A link between two issues appears on both,
    outward on one and inward on the other; an issue whose kept export carries no link rows (e.g. loaded before
    links were captured) has none here.
-#}

with source_links as (

    select * from {{ lake_source('jira', 'issue_links') }}

),

kept_issues as (

    select
        issues.issue_key,
        issues.file_sha256
    from {{ ref('stg_jira__issues') }} as issues

),

renamed as (

    select
        cast(issue_key as {{ dbt.type_string() }}) as issue_key,
        cast(link_index as {{ dbt.type_int() }}) as link_index,
        cast(link_id as {{ dbt.type_string() }}) as link_id,
        cast(trim(link_type) as {{ dbt.type_string() }}) as link_type,
        cast(direction as {{ dbt.type_string() }}) as direction,
        cast(link_phrase as {{ dbt.type_string() }}) as link_phrase,
        cast(trim(linked_issue_key) as {{ dbt.type_string() }}) as linked_issue_key,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_source_format as {{ dbt.type_string() }}) as source_format,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source_links
    where issue_key is not null and linked_issue_key is not null

),

kept_links as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.issue_key, renamed.direction, renamed.link_type, renamed.linked_issue_key
            order by renamed.link_index
        ) as copy_rank
    from renamed
    inner join kept_issues
        on
            renamed.issue_key = kept_issues.issue_key
            and renamed.file_sha256 = kept_issues.file_sha256

)

select
    {{ surrogate_key([
        'kept_links.issue_key', 'kept_links.direction', 'kept_links.link_type', 'kept_links.linked_issue_key'
    ]) }} as issue_link_id,
    kept_links.issue_key,
    kept_links.link_index,
    kept_links.link_id,
    kept_links.link_type,
    kept_links.direction,
    kept_links.link_phrase,
    kept_links.linked_issue_key,
    kept_links.source_file,
    kept_links.source_format,
    kept_links.file_sha256,
    kept_links.ingested_at
from kept_links
where kept_links.copy_rank = 1
