{#-
    One row per stretch of time an issue carried one story-point estimate: (issue_key, estimate_number), valid
    from valid_from until valid_to (NULL for the current estimate). Lets sprint metrics take an issue's estimate
    as of an instant (the sprint start, the moment it was added, the close), as Jira's sprint report does,
    rather than its current one.
    The full reasoning is the docs block int_issue_story_point_estimates in delivery/_delivery__docs.md.
-#}
{%- set field_names = var('jira_story_points_field_names', ['Story Points', 'Story point estimate']) -%}
{%- if field_names is string %}{% set field_names = fromjson(field_names) %}{% endif -%}

with issues as (

    select
        issues.issue_key,
        issues.created_at,
        issues.story_points,
        issues.changelog_complete
    from {{ ref('int_issues_categorised') }} as issues

),

story_point_field_ids as (

    select fields.field_id
    from {{ ref('stg_jira__fields') }} as fields
    where
        fields.schema_custom = 'com.pyxis.greenhopper.jira:jsw-story-points'
        or lower(fields.field_name) in (
            {%- for name in field_names %}
                {{ sql_string_literal(name | lower) }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        )

),

point_changes as (

    select
        changelog.issue_key,
        changelog.changed_at,
        {{ try_cast(
            "nullif(trim(coalesce(changelog.from_value, changelog.from_id)), '')",
            'decimal(10, 2)'
        ) }} as from_points,
        {{ try_cast(
            "nullif(trim(coalesce(changelog.to_value, changelog.to_id)), '')",
            'decimal(10, 2)'
        ) }} as to_points,
        row_number() over (
            partition by changelog.issue_key
            order by
                changelog.changed_at,
                {{ dbt.length('changelog.history_id') }},
                changelog.history_id,
                changelog.item_index
        ) as change_number
    from {{ ref('stg_jira__changelog') }} as changelog
    inner join issues
        on changelog.issue_key = issues.issue_key
    where
        lower(changelog.field) in (
            {%- for name in field_names %}
                {{ sql_string_literal(name | lower) }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        )
        or changelog.field_id in (select story_point_field_ids.field_id from story_point_field_ids)

),

estimates as (

    -- The estimate before the first change, from creation on.
    select
        point_changes.issue_key,
        0 as estimate_number,
        issues.created_at as valid_from,
        point_changes.changed_at as valid_to,
        point_changes.from_points as story_points
    from point_changes
    inner join issues
        on point_changes.issue_key = issues.issue_key
    where point_changes.change_number = 1

    union all

    select
        point_changes.issue_key,
        point_changes.change_number as estimate_number,
        point_changes.changed_at as valid_from,
        lead(point_changes.changed_at) over (
            partition by point_changes.issue_key order by point_changes.change_number
        ) as valid_to,
        point_changes.to_points as story_points
    from point_changes

    union all

    -- Never re-estimated: the current estimate throughout.
    select
        issues.issue_key,
        0 as estimate_number,
        issues.created_at as valid_from,
        cast(null as {{ dbt.type_timestamp() }}) as valid_to,
        issues.story_points
    from issues
    where issues.issue_key not in (select point_changes.issue_key from point_changes)

)

select
    {{ surrogate_key(['estimates.issue_key', 'estimates.estimate_number']) }} as story_point_estimate_id,
    estimates.issue_key,
    cast(estimates.estimate_number as {{ dbt.type_int() }}) as estimate_number,
    estimates.valid_from,
    estimates.valid_to,
    cast(estimates.story_points as decimal(10, 2)) as story_points,
    issues.changelog_complete
from estimates
inner join issues
    on estimates.issue_key = issues.issue_key
