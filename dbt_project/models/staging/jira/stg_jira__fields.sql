{#-
    The Jira field catalog (/rest/api/3/field): one row per field_id, from the latest ingested catalog. Lets
    models recognise custom fields by type (e.g. the Sprint field by its gh-sprint schema) whatever their name.
-#}

with source_fields as (

    select * from {{ lake_source('jira', 'fields') }}

),

ranked_versions as (

    select
        cast(source_fields.field_id as {{ dbt.type_string() }}) as field_id,
        cast(source_fields.name as {{ dbt.type_string() }}) as field_name,
        cast(source_fields.is_custom as boolean) as is_custom,
        cast(source_fields.schema_type as {{ dbt.type_string() }}) as schema_type,
        cast(source_fields.schema_custom as {{ dbt.type_string() }}) as schema_custom,
        cast(source_fields._source_file as {{ dbt.type_string() }}) as source_file,
        cast(source_fields._file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(source_fields._ingested_at as {{ dbt.type_timestamp() }}) as ingested_at,
        row_number() over (
            partition by source_fields.field_id
            order by
                source_fields._ingested_at desc,
                source_fields._file_sha256 desc,
                source_fields._record_number desc
        ) as version_rank
    from source_fields
    where source_fields.field_id is not null

)

select
    ranked_versions.field_id,
    ranked_versions.field_name,
    ranked_versions.is_custom,
    ranked_versions.schema_type,
    ranked_versions.schema_custom,
    ranked_versions.source_file,
    ranked_versions.file_sha256,
    ranked_versions.ingested_at
from ranked_versions
where ranked_versions.version_rank = 1
