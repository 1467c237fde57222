{#-
    Every exported row of every issue (one per issue per export), renamed and cast: the columns the intermediate
    models read across versions (status categories, hierarchy levels by issue type). stg_jira__issues keeps the
    newest version of each issue; a superseded row still says which category an export gave its status.
-#}

with source_issues as (

    select * from {{ lake_source('jira', 'issues') }}

)

select
    {{ surrogate_key(['_file_sha256', '_record_number']) }} as issue_version_id,
    cast(issue_key as {{ dbt.type_string() }}) as issue_key,
    cast(issue_type as {{ dbt.type_string() }}) as issue_type,
    cast(hierarchy_level as {{ dbt.type_int() }}) as exported_hierarchy_level,
    cast(trim(status) as {{ dbt.type_string() }}) as status,
    cast(nullif(trim(status_category), '') as {{ dbt.type_string() }}) as exported_status_category,
    cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
    cast(_source_format as {{ dbt.type_string() }}) as source_format,
    cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
    cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
from source_issues
