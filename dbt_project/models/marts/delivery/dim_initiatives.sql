{#-
    One row per initiative: an issue at hierarchy level 2, or a key listed in var('initiatives') (which may name an
    epic). Its epics and child issues are the issues that roll up to it (int_issues_rolled_up_to_initiatives);
    child issues are hierarchy level 0 (stories, tasks, bugs), where story points are counted: epics and
    sub-tasks are left out of the points so nothing is counted twice.

    Ship date (DESIGN.md: the first move to a done status), by one of two rules, named in ship_date_rule:
    - 'initiative_done': the initiative's own first entry into a done category (from the changelog; when its
      changelog is incomplete, e.g. a CSV-only export, Jira's resolution time if it is done now);
    - 'last_child_done': it never moved itself, but every epic and child issue under it is done now; the ship date
      is the latest of their done times (final done from the changelog, else Jira's resolution time when the
      child's changelog is incomplete).
    Otherwise it has not shipped: NULL, and ship_date_rule NULL.
-#}
{%- set initiatives = var('initiatives') -%}
{%- if initiatives is string %}{% set initiatives = fromjson(initiatives) %}{% endif -%}

with issues as (

    select * from {{ ref('int_issues_categorised') }}

),

rollup as (

    select * from {{ ref('int_issues_rolled_up_to_initiatives') }}

),

cycle_times as (

    select * from {{ ref('fct_issue_cycle_times') }}

),

configured_initiatives as (

    {% if initiatives | length == 0 -%}
        select
            cast(null as {{ dbt.type_string() }}) as initiative_key,
            {{ string_array_literal([]) }} as adoption_events,
            cast(null as {{ dbt.type_string() }}) as target_metric_type
        where 1 = 0
    {%- else -%}
        {%- for initiative in initiatives %}
            select
                {{ sql_string_literal(initiative.key) }} as initiative_key,
                {{ string_array_literal(initiative.adoption_events) }} as adoption_events,
                {{ sql_literal((initiative.target_metric or {}).get('type')) }} as target_metric_type
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    {%- endif %}

),

own_done_moves as (

    select
        intervals.issue_key,
        min(intervals.entered_at) as first_done_at
    from {{ ref('int_issue_status_transitions') }} as intervals
    inner join issues
        on intervals.issue_key = issues.issue_key
    where intervals.status_category = 'done' and issues.changelog_complete
    group by intervals.issue_key

    union all

    -- Without a complete changelog (a CSV export has none; a history cut short) the intervals would date the
    -- current status from creation: Jira's resolution time of an issue that is done now stands in.
    select
        issues.issue_key,
        issues.resolved_at as first_done_at
    from issues
    where
        not issues.changelog_complete
        and issues.status_category = 'done'
        and issues.resolved_at is not null

),

descendants as (

    select
        rollup.initiative_key,
        rollup.issue_key,
        rollup.hierarchy_level,
        rollup.story_points,
        cycle_times.is_done,
        case when cycle_times.is_done then coalesce(cycle_times.done_at, cycle_times.resolved_at) end as done_at
    from rollup
    inner join cycle_times
        on rollup.issue_key = cycle_times.issue_key
    where rollup.initiative_key is not null and rollup.issue_key != rollup.initiative_key

),

descendant_totals as (

    select
        descendants.initiative_key,
        sum(case when descendants.hierarchy_level = 1 then 1 else 0 end) as epic_count,
        sum(case when descendants.hierarchy_level = 0 then 1 else 0 end) as child_issue_count,
        -- An epic or child issue in a status no source categorises is neither done nor open: the counts it would
        -- change are NULL, and it holds the ship date back (see the select below).
        sum(case when descendants.hierarchy_level in (0, 1) and descendants.is_done is null then 1 else 0 end)
            as uncategorised_work_item_count,
        sum(case when descendants.hierarchy_level = 0 and descendants.is_done is null then 1 else 0 end)
            as uncategorised_child_issue_count,
        sum(case when descendants.hierarchy_level = 0 and descendants.is_done then 1 else 0 end)
            as done_child_issue_count,
        sum(case when descendants.hierarchy_level = 0 then descendants.story_points end) as total_story_points,
        sum(case when descendants.hierarchy_level = 0 and descendants.is_done then descendants.story_points end)
            as completed_story_points,
        sum(case when descendants.hierarchy_level in (0, 1) then 1 else 0 end) as work_item_count,
        sum(case when descendants.hierarchy_level in (0, 1) and not descendants.is_done then 1 else 0 end)
            as open_work_item_count,
        sum(
            case
                when descendants.hierarchy_level in (0, 1) and descendants.is_done and descendants.done_at is null
                    then 1
                else 0
            end
        ) as undated_done_work_item_count,
        max(case when descendants.hierarchy_level in (0, 1) then descendants.done_at end) as last_work_item_done_at
    from descendants
    group by descendants.initiative_key

),

ship_dates as (

    select
        rollup.issue_key as initiative_key,
        case
            when own_done_moves.first_done_at is not null then own_done_moves.first_done_at
            when
                descendant_totals.work_item_count > 0
                and descendant_totals.open_work_item_count = 0
                and descendant_totals.uncategorised_work_item_count = 0
                and descendant_totals.undated_done_work_item_count = 0
                then descendant_totals.last_work_item_done_at
        end as shipped_at,
        case
            when own_done_moves.first_done_at is not null then 'initiative_done'
            when
                descendant_totals.work_item_count > 0
                and descendant_totals.open_work_item_count = 0
                and descendant_totals.uncategorised_work_item_count = 0
                and descendant_totals.undated_done_work_item_count = 0
                then 'last_child_done'
        end as ship_date_rule
    from rollup
    left join own_done_moves
        on rollup.issue_key = own_done_moves.issue_key
    left join descendant_totals
        on rollup.issue_key = descendant_totals.initiative_key
    where rollup.is_initiative

)

select
    cast(issues.issue_key as {{ dbt.type_string() }}) as initiative_key,
    cast(issues.project_key as {{ dbt.type_string() }}) as project_key,
    cast(issues.issue_type as {{ dbt.type_string() }}) as issue_type,
    cast(issues.hierarchy_level as integer) as hierarchy_level,
    cast(issues.summary as {{ dbt.type_string() }}) as summary,
    cast(issues.status as {{ dbt.type_string() }}) as status,
    cast(issues.status_category as {{ dbt.type_string() }}) as status_category,
    cast(issues.due_date as date) as due_date,
    cast(issues.created_at as timestamp) as created_at,
    cast(coalesce(descendant_totals.epic_count, 0) as bigint) as epic_count,
    cast(coalesce(descendant_totals.child_issue_count, 0) as bigint) as child_issue_count,
    cast(
        case
            when coalesce(descendant_totals.uncategorised_child_issue_count, 0) = 0
                then coalesce(descendant_totals.done_child_issue_count, 0)
        end as bigint
    ) as done_child_issue_count,
    cast(coalesce(descendant_totals.total_story_points, 0) as decimal(12, 2)) as total_story_points,
    cast(
        case
            when coalesce(descendant_totals.uncategorised_child_issue_count, 0) = 0
                then coalesce(descendant_totals.completed_story_points, 0)
        end as decimal(12, 2)
    ) as completed_story_points,
    cast(
        case
            when coalesce(descendant_totals.uncategorised_child_issue_count, 0) = 0
                then
                    cast(coalesce(descendant_totals.completed_story_points, 0) as double)
                    / nullif(descendant_totals.total_story_points, 0)
        end as double
    ) as progress,
    cast(coalesce(descendant_totals.uncategorised_work_item_count, 0) as bigint) as uncategorised_work_item_count,
    cast(ship_dates.shipped_at as timestamp) as shipped_at,
    cast(ship_dates.shipped_at as date) as ship_date,
    cast(ship_dates.ship_date_rule as {{ dbt.type_string() }}) as ship_date_rule,
    cast(configured_initiatives.initiative_key is not null as boolean) as is_configured,
    coalesce(configured_initiatives.adoption_events, {{ string_array_literal([]) }}) as adoption_events,
    cast(configured_initiatives.target_metric_type as {{ dbt.type_string() }}) as target_metric_type,
    cast(issues.changelog_complete as boolean) as changelog_complete
from ship_dates
inner join issues
    on ship_dates.initiative_key = issues.issue_key
left join descendant_totals
    on ship_dates.initiative_key = descendant_totals.initiative_key
left join configured_initiatives
    on ship_dates.initiative_key = configured_initiatives.initiative_key
