{#-
    Jira issues: one row per issue_key, the newest version across every export that landed, renamed and cast.
    Why the tie-break below: Jira's CSV writes minutes only, so a JSON and a CSV row of the same minute tie, and
    the JSON row wins (it carries the changelog completeness flag and exact times). Status categories and
    hierarchy levels the export leaves out are resolved in int_issues_categorised.

    A view: issues are re-exported whole, so every run dedupes the full set of (small) issue snapshots.
-#}

with source_issues as (

    select * from {{ lake_source('jira', 'issues') }}

),

renamed as (

    select
        cast(issue_key as {{ dbt.type_string() }}) as issue_key,
        cast(issue_id as {{ dbt.type_string() }}) as issue_id,
        cast(project_key as {{ dbt.type_string() }}) as project_key,
        cast(issue_type as {{ dbt.type_string() }}) as issue_type,
        cast(hierarchy_level as {{ dbt.type_int() }}) as exported_hierarchy_level,
        cast(summary as {{ dbt.type_string() }}) as summary,
        cast(description_text as {{ dbt.type_string() }}) as description_text,
        cast(trim(status) as {{ dbt.type_string() }}) as status,
        cast(nullif(trim(status_category), '') as {{ dbt.type_string() }}) as exported_status_category,
        cast(priority as {{ dbt.type_string() }}) as priority,
        cast(resolution as {{ dbt.type_string() }}) as resolution,
        cast(assignee_account_id as {{ dbt.type_string() }}) as assignee_account_id,
        cast(reporter_account_id as {{ dbt.type_string() }}) as reporter_account_id,
        -- An empty link is no link: it must not make an issue its own parent's sibling of ''.
        cast(nullif(trim(parent_key), '') as {{ dbt.type_string() }}) as parent_key,
        cast(nullif(trim(epic_key), '') as {{ dbt.type_string() }}) as epic_key,
        labels,
        components,
        fix_versions,
        sprint_ids,
        cast(story_points as decimal(10, 2)) as story_points,
        cast(original_estimate_seconds as {{ dbt.type_bigint() }}) as original_estimate_seconds,
        cast(time_spent_seconds as {{ dbt.type_bigint() }}) as time_spent_seconds,
        cast(due_date as date) as due_date,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(resolved_at as {{ dbt.type_timestamp() }}) as resolved_at,
        -- DOUBLE as in the lake: dbt.type_float() is a 4-byte FLOAT on DuckDB (0.8 reads back as 0.800000011920929).
        cast(reach as double) as reach,
        cast(impact as double) as impact,
        cast(confidence as double) as confidence,
        cast(effort as double) as effort,
        cast(changelog_total as {{ dbt.type_int() }}) as changelog_total,
        cast(changelog_loaded as {{ dbt.type_int() }}) as changelog_loaded,
        -- Unknown completeness (a CSV row, which has no changelog) counts as incomplete: timings derived from the
        -- changelog are then flagged rather than trusted.
        coalesce(cast(changelog_complete as boolean), false) as changelog_complete,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_source_format as {{ dbt.type_string() }}) as source_format,
        cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source_issues

),

ranked_versions as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.issue_key
            order by
                {{ dbt.date_trunc('minute', 'renamed.updated_at') }} desc nulls last,
                case when renamed.source_format = 'csv' then 1 else 0 end,
                renamed.updated_at desc nulls last,
                renamed.ingested_at desc,
                renamed.file_sha256 desc,
                renamed.source_record_number desc
        ) as version_rank
    from renamed
    where renamed.issue_key is not null

)

select
    ranked_versions.issue_key,
    ranked_versions.issue_id,
    ranked_versions.project_key,
    ranked_versions.issue_type,
    ranked_versions.exported_hierarchy_level,
    ranked_versions.summary,
    ranked_versions.description_text,
    ranked_versions.status,
    ranked_versions.exported_status_category,
    ranked_versions.priority,
    ranked_versions.resolution,
    ranked_versions.assignee_account_id,
    ranked_versions.reporter_account_id,
    ranked_versions.parent_key,
    ranked_versions.epic_key,
    ranked_versions.labels,
    ranked_versions.components,
    ranked_versions.fix_versions,
    ranked_versions.sprint_ids,
    ranked_versions.story_points,
    ranked_versions.original_estimate_seconds,
    ranked_versions.time_spent_seconds,
    ranked_versions.due_date,
    ranked_versions.created_at,
    ranked_versions.updated_at,
    ranked_versions.resolved_at,
    ranked_versions.reach,
    ranked_versions.impact,
    ranked_versions.confidence,
    ranked_versions.effort,
    ranked_versions.changelog_total,
    ranked_versions.changelog_loaded,
    ranked_versions.changelog_complete,
    ranked_versions.source_file,
    ranked_versions.source_format,
    ranked_versions.source_record_number,
    ranked_versions.file_sha256,
    ranked_versions.ingested_at
from ranked_versions
where ranked_versions.version_rank = 1
