{#-
    One row per initiative: planned against actual delivery, effort and flow.

    - slip_days = ship_date - due_date in days (positive: late); NULL until shipped or without a due date.
    - effort_person_months: from time tracking when any time is logged on the initiative or under it
      (seconds / (160 h x 3600)), else from story points / var('jira_story_points_per_person_month'); NULL when
      neither exists, never 0 (RICE divides by it). effort_basis names the source.
    - first_started_at: the first entry into an in-progress category of the initiative or anything under it with a
      complete changelog (a CSV-only export has none: NULL, never its creation time).
    - throughput_issues_per_week: child issues done from first_started_at to the ship time, per week of that span;
      NULL until shipped.
    - median_child_cycle_time_seconds over child issues with a trusted cycle time (fct_issue_cycle_times).
-#}
{%- set seconds_per_person_month = 160 * 3600 -%}
{%- set points_per_person_month = var('jira_story_points_per_person_month') | float -%}

with initiatives as (

    select * from {{ ref('dim_initiatives') }}

),

family as (

    -- The initiative itself and everything that rolls up to it.
    select
        rollup.initiative_key,
        rollup.issue_key,
        rollup.hierarchy_level,
        issues.time_spent_seconds,
        cycle_times.is_done,
        case when cycle_times.is_done then coalesce(cycle_times.done_at, cycle_times.resolved_at) end as done_at,
        cycle_times.cycle_time_seconds,
        cycle_times.changelog_complete
    from {{ ref('int_issues_rolled_up_to_initiatives') }} as rollup
    inner join {{ ref('int_issues_categorised') }} as issues
        on rollup.issue_key = issues.issue_key
    inner join {{ ref('fct_issue_cycle_times') }} as cycle_times
        on rollup.issue_key = cycle_times.issue_key
    where rollup.initiative_key is not null

),

starts as (

    select
        family.initiative_key,
        min(intervals.entered_at) as first_started_at
    from family
    inner join {{ ref('int_issue_status_transitions') }} as intervals
        on family.issue_key = intervals.issue_key
    where intervals.status_category = 'indeterminate' and family.changelog_complete
    group by family.initiative_key

),

family_totals as (

    select
        family.initiative_key,
        sum(family.time_spent_seconds) as time_spent_seconds,
        {{ median('case when family.hierarchy_level = 0 then family.cycle_time_seconds end') }}
            as median_child_cycle_time_seconds,
        sum(case when family.hierarchy_level = 0 and not family.changelog_complete then 1 else 0 end)
            as children_with_incomplete_changelog
    from family
    group by family.initiative_key

),

shipped_children as (

    select
        family.initiative_key,
        count(*) as children_done_by_ship
    from family
    inner join initiatives
        on family.initiative_key = initiatives.initiative_key
    where
        family.hierarchy_level = 0
        and family.done_at <= initiatives.shipped_at
    group by family.initiative_key

),

measured as (

    select
        initiatives.*,
        starts.first_started_at,
        family_totals.time_spent_seconds,
        family_totals.median_child_cycle_time_seconds,
        family_totals.children_with_incomplete_changelog,
        coalesce(shipped_children.children_done_by_ship, 0) as children_done_by_ship,
        {{ dbt.datediff(
            'initiatives.due_date',
            'initiatives.ship_date',
            'day'
        ) }} as slip_days,
        case
            when family_totals.time_spent_seconds > 0 then 'time_tracking'
            when initiatives.total_story_points > 0 then 'story_points'
        end as effort_basis
    from initiatives
    left join starts
        on initiatives.initiative_key = starts.initiative_key
    left join family_totals
        on initiatives.initiative_key = family_totals.initiative_key
    left join shipped_children
        on initiatives.initiative_key = shipped_children.initiative_key

)

select
    cast(measured.initiative_key as {{ dbt.type_string() }}) as initiative_key,
    cast(measured.summary as {{ dbt.type_string() }}) as summary,
    cast(measured.status_category as {{ dbt.type_string() }}) as status_category,
    cast(measured.due_date as date) as due_date,
    cast(measured.ship_date as date) as ship_date,
    cast(measured.shipped_at as timestamp) as shipped_at,
    cast(measured.ship_date_rule as {{ dbt.type_string() }}) as ship_date_rule,
    cast(measured.shipped_at is not null as boolean) as is_shipped,
    cast(measured.slip_days as integer) as slip_days,
    cast(measured.first_started_at as timestamp) as first_started_at,
    cast(measured.child_issue_count as bigint) as child_issue_count,
    cast(measured.done_child_issue_count as bigint) as done_child_issue_count,
    cast(
        case
            when measured.shipped_at > measured.first_started_at
                then
                    measured.children_done_by_ship
                    / ({{ seconds_between('measured.first_started_at', 'measured.shipped_at') }} / (7 * 24 * 3600.0))
        end as double
    ) as throughput_issues_per_week,
    cast(measured.median_child_cycle_time_seconds as double) as median_child_cycle_time_seconds,
    cast(coalesce(measured.children_with_incomplete_changelog, 0) as bigint) as children_with_incomplete_changelog,
    cast(measured.total_story_points as decimal(12, 2)) as total_story_points,
    cast(coalesce(measured.time_spent_seconds, 0) as bigint) as time_spent_seconds,
    cast(
        case measured.effort_basis
            when 'time_tracking' then cast(measured.time_spent_seconds as double) / {{ seconds_per_person_month }}
            when 'story_points' then cast(measured.total_story_points as double) / {{ points_per_person_month }}
        end as double
    ) as effort_person_months,
    cast(measured.effort_basis as {{ dbt.type_string() }}) as effort_basis
from measured
