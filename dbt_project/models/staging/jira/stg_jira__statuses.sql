{#-
    The Jira status catalog (/rest/api/{2,3}/status): one row per status_id, from the latest ingested catalog.
    It categorises every status of the site, also those only the changelog names (int_jira_statuses_categorised).
-#}

with source_statuses as (

    select * from {{ lake_source('jira', 'statuses') }}

),

ranked_versions as (

    select
        cast(source_statuses.status_id as {{ dbt.type_string() }}) as status_id,
        cast(source_statuses.name as {{ dbt.type_string() }}) as status_name,
        cast(source_statuses.untranslated_name as {{ dbt.type_string() }}) as untranslated_name,
        cast(source_statuses.status_category as {{ dbt.type_string() }}) as status_category,
        cast(source_statuses.scope_project_id as {{ dbt.type_string() }}) as scope_project_id,
        cast(source_statuses._source_file as {{ dbt.type_string() }}) as source_file,
        cast(source_statuses._file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(source_statuses._ingested_at as {{ dbt.type_timestamp() }}) as ingested_at,
        row_number() over (
            partition by source_statuses.status_id
            order by
                source_statuses._ingested_at desc,
                source_statuses._file_sha256 desc,
                source_statuses._record_number desc
        ) as version_rank
    from source_statuses
    where source_statuses.status_id is not null

)

select
    ranked_versions.status_id,
    ranked_versions.status_name,
    ranked_versions.untranslated_name,
    ranked_versions.status_category,
    ranked_versions.scope_project_id,
    ranked_versions.source_file,
    ranked_versions.file_sha256,
    ranked_versions.ingested_at
from ranked_versions
where ranked_versions.version_rank = 1
