{#-
    Jira issues: one row per issue_key, the newest version across every export that landed.

    Dedupe: the latest updated_at wins, then the latest ingested file. A CSV and a JSON export of the same issue
    state both land; the JSON row is preferred because it carries the changelog-derived completeness flag (and
    exact times). Jira's CSV writes minutes only, so updated_at is compared at the minute first: a JSON row and a
    CSV row of the same minute are a tie, which the JSON row wins.

    status_category (Jira's new | indeterminate | done): a configured override for the status name wins; else the
    row's own category from the export; else the category exports give that status name on other rows
    (stg_jira__status_categories). status_category_source says which.

    hierarchy_level (2 initiative, 1 epic, 0 story/task/bug, -1 sub-task): the exported level; a CSV export has
    none (ingest names only epics and sub-tasks by their type name), so a row without one takes the level exports
    give the same issue type name on other rows, else 2 when an epic (level 1) names it as its parent (a level above
    the epics, e.g. Initiative), else 0 (a standard issue type). hierarchy_level_source says which.

    RICE fields are DOUBLE, as in the lake (dbt.type_float() is a 4-byte FLOAT on DuckDB: 0.8 would read back as
    0.800000011920929).

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
        cast(hierarchy_level as {{ dbt.type_int() }}) as hierarchy_level,
        cast(summary as {{ dbt.type_string() }}) as summary,
        cast(description_text as {{ dbt.type_string() }}) as description_text,
        cast(trim(status) as {{ dbt.type_string() }}) as status,
        lower(trim(status)) as status_key,
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

),

status_categories as (

    select * from {{ ref('stg_jira__status_categories') }}

),

latest_versions as (

    select * from ranked_versions
    where ranked_versions.version_rank = 1

),

type_levels as (

    -- The level exports give each issue type name (every JSON row carries one); the highest if they disagree.
    select
        lower(trim(renamed.issue_type)) as issue_type_key,
        max(renamed.hierarchy_level) as exported_hierarchy_level
    from renamed
    where renamed.hierarchy_level is not null and renamed.issue_type is not null
    group by lower(trim(renamed.issue_type))

),

typed_versions as (

    select
        latest_versions.issue_key,
        latest_versions.parent_key,
        coalesce(latest_versions.hierarchy_level, type_levels.exported_hierarchy_level) as typed_hierarchy_level
    from latest_versions
    left join type_levels
        on lower(trim(latest_versions.issue_type)) = type_levels.issue_type_key

),

epic_parents as (

    select distinct typed_versions.parent_key as issue_key
    from typed_versions
    where typed_versions.typed_hierarchy_level = 1 and typed_versions.parent_key is not null

),

hierarchy_levels as (

    select
        typed_versions.issue_key,
        case
            when typed_versions.typed_hierarchy_level is not null then typed_versions.typed_hierarchy_level
            when epic_parents.issue_key is not null then 2
            else 0
        end as hierarchy_level,
        case
            when latest_versions.hierarchy_level is not null then 'export'
            when typed_versions.typed_hierarchy_level is not null then 'issue_type'
            when epic_parents.issue_key is not null then 'parent_of_epic'
            else 'default'
        end as hierarchy_level_source
    from typed_versions
    inner join latest_versions
        on typed_versions.issue_key = latest_versions.issue_key
    left join epic_parents
        on typed_versions.issue_key = epic_parents.issue_key

)

select
    ranked_versions.issue_key,
    ranked_versions.issue_id,
    ranked_versions.project_key,
    ranked_versions.issue_type,
    hierarchy_levels.hierarchy_level,
    hierarchy_levels.hierarchy_level_source,
    ranked_versions.summary,
    ranked_versions.description_text,
    ranked_versions.status,
    coalesce(
        status_categories.override_status_category,
        ranked_versions.exported_status_category,
        status_categories.exported_status_category
    ) as status_category,
    case
        when status_categories.override_status_category is not null then 'override'
        when ranked_versions.exported_status_category is not null then 'export'
        when status_categories.exported_status_category is not null then 'status_name'
    end as status_category_source,
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
inner join hierarchy_levels
    on ranked_versions.issue_key = hierarchy_levels.issue_key
left join status_categories
    on ranked_versions.status_key = status_categories.status_key
where ranked_versions.version_rank = 1
