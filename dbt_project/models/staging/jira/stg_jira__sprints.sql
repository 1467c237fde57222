{#-
    Jira sprints: one row per sprint_id. Every sprints export repeats each sprint with its state at that time;
    a sprint only moves forward (future -> active -> closed), so the most advanced state wins whatever the order
    the exports were ingested in, then the latest ingested copy (dates can be edited).
-#}

with source_sprints as (

    select * from {{ lake_source('jira', 'sprints') }}

),

renamed as (

    select
        cast(sprint_id as {{ dbt.type_bigint() }}) as sprint_id,
        cast(board_id as {{ dbt.type_bigint() }}) as board_id,
        cast(name as {{ dbt.type_string() }}) as sprint_name,
        cast(lower(trim(state)) as {{ dbt.type_string() }}) as state,
        cast(goal as {{ dbt.type_string() }}) as goal,
        cast(start_at as {{ dbt.type_timestamp() }}) as start_at,
        cast(end_at as {{ dbt.type_timestamp() }}) as end_at,
        cast(complete_at as {{ dbt.type_timestamp() }}) as complete_at,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source_sprints
    where sprint_id is not null

),

ranked_versions as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.sprint_id
            order by
                case renamed.state when 'closed' then 3 when 'active' then 2 when 'future' then 1 else 0 end desc,
                renamed.ingested_at desc,
                renamed.file_sha256 desc,
                renamed.source_record_number desc
        ) as version_rank
    from renamed

)

select
    ranked_versions.sprint_id,
    ranked_versions.board_id,
    ranked_versions.sprint_name,
    ranked_versions.state,
    ranked_versions.goal,
    ranked_versions.start_at,
    ranked_versions.end_at,
    ranked_versions.complete_at,
    ranked_versions.source_file,
    ranked_versions.file_sha256,
    ranked_versions.ingested_at
from ranked_versions
where ranked_versions.version_rank = 1
