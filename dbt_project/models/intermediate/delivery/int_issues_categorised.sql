{#-
    Jira issues (stg_jira__issues, one row per issue_key) with the two things an export may leave out resolved:
    the status category and the hierarchy level, each with a *_source column saying where it came from. A CSV
    export carries neither, so it borrows what the JSON exports say about the same status name or issue type.
-#}

with issues as (

    select * from {{ ref('stg_jira__issues') }}

),

status_categories as (

    select * from {{ ref('int_jira_statuses_categorised') }}

),

type_levels as (

    -- The level exports give each issue type name (every JSON row carries one); the highest if they disagree.
    select
        lower(trim(issue_versions.issue_type)) as issue_type_key,
        max(issue_versions.exported_hierarchy_level) as exported_hierarchy_level
    from {{ ref('stg_jira__issue_versions') }} as issue_versions
    where issue_versions.exported_hierarchy_level is not null and issue_versions.issue_type is not null
    group by lower(trim(issue_versions.issue_type))

),

typed_issues as (

    select
        issues.issue_key,
        issues.parent_key,
        coalesce(issues.exported_hierarchy_level, type_levels.exported_hierarchy_level) as typed_hierarchy_level
    from issues
    left join type_levels
        on lower(trim(issues.issue_type)) = type_levels.issue_type_key

),

epic_parents as (

    select distinct typed_issues.parent_key as issue_key
    from typed_issues
    where typed_issues.typed_hierarchy_level = 1 and typed_issues.parent_key is not null

),

hierarchy_levels as (

    select
        typed_issues.issue_key,
        case
            when typed_issues.typed_hierarchy_level is not null then typed_issues.typed_hierarchy_level
            when epic_parents.issue_key is not null then 2
            else 0
        end as hierarchy_level,
        case
            when issues.exported_hierarchy_level is not null then 'export'
            when typed_issues.typed_hierarchy_level is not null then 'issue_type'
            when epic_parents.issue_key is not null then 'parent_of_epic'
            else 'default'
        end as hierarchy_level_source
    from typed_issues
    inner join issues
        on typed_issues.issue_key = issues.issue_key
    left join epic_parents
        on typed_issues.issue_key = epic_parents.issue_key

)

select
    issues.issue_key,
    issues.issue_id,
    issues.project_key,
    issues.issue_type,
    hierarchy_levels.hierarchy_level,
    hierarchy_levels.hierarchy_level_source,
    issues.summary,
    issues.description_text,
    issues.status,
    -- The override for the status name wins; else the status catalog; else the row's own exported category;
    -- else the one exports give that status name on other rows.
    coalesce(
        status_categories.override_status_category,
        status_categories.catalog_status_category,
        issues.exported_status_category,
        status_categories.exported_status_category
    ) as status_category,
    case
        when status_categories.override_status_category is not null then 'override'
        when status_categories.catalog_status_category is not null then 'catalog'
        when issues.exported_status_category is not null then 'export'
        when status_categories.exported_status_category is not null then 'status_name'
    end as status_category_source,
    issues.priority,
    issues.resolution,
    issues.assignee_account_id,
    issues.reporter_account_id,
    issues.parent_key,
    issues.epic_key,
    issues.labels,
    issues.components,
    issues.fix_versions,
    issues.sprint_ids,
    issues.story_points,
    issues.original_estimate_seconds,
    issues.time_spent_seconds,
    issues.due_date,
    issues.created_at,
    issues.updated_at,
    issues.resolved_at,
    issues.reach,
    issues.impact,
    issues.confidence,
    issues.effort,
    issues.changelog_total,
    issues.changelog_loaded,
    issues.changelog_complete,
    issues.source_file,
    issues.source_format,
    issues.source_record_number,
    issues.file_sha256,
    issues.ingested_at
from issues
inner join hierarchy_levels
    on issues.issue_key = hierarchy_levels.issue_key
left join status_categories
    on lower(issues.status) = status_categories.status_key
