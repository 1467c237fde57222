{#-
    Jira issue links as the kept export of each issue (stg_jira__issues: newest copy, JSON over CSV) shows them,
    one row per (issue_key, direction, link_type, linked_issue_key): a link removed in a later export is gone, and
    the CSV and JSON copies of one link are not counted twice. An issue whose kept export carries no link rows
    (e.g. loaded before links were captured) has none here.
-#}

with kept_links as (

    select
        links.*,
        row_number() over (
            partition by links.issue_key, links.direction, links.link_type, links.linked_issue_key
            order by links.link_index
        ) as copy_rank
    from {{ ref('stg_jira__issue_links') }} as links
    inner join {{ ref('stg_jira__issues') }} as issues
        on
            links.issue_key = issues.issue_key
            and links.file_sha256 = issues.file_sha256

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
