{#-
    Jira issue comments: one row per (issue_key, comment_index), from the latest ingested export of the issue
    (an edited comment keeps its position; the newest export has its newest text).
-#}

with source_comments as (

    select * from {{ lake_source('jira', 'comments') }}

),

renamed as (

    select
        {{ surrogate_key(['issue_key', 'comment_index']) }} as comment_id,
        cast(issue_key as {{ dbt.type_string() }}) as issue_key,
        cast(comment_index as {{ dbt.type_int() }}) as comment_index,
        cast(commented_at as {{ dbt.type_timestamp() }}) as commented_at,
        cast(author_account_id as {{ dbt.type_string() }}) as author_account_id,
        cast(body as {{ dbt.type_string() }}) as body,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source_comments
    where issue_key is not null

),

ranked_versions as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.comment_id
            order by renamed.ingested_at desc, renamed.file_sha256 desc, renamed.source_record_number desc
        ) as version_rank
    from renamed

)

select
    ranked_versions.comment_id,
    ranked_versions.issue_key,
    ranked_versions.comment_index,
    ranked_versions.commented_at,
    ranked_versions.author_account_id,
    ranked_versions.body,
    ranked_versions.source_file,
    ranked_versions.file_sha256,
    ranked_versions.ingested_at
from ranked_versions
where ranked_versions.version_rank = 1
