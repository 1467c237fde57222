{#-
    One row per sprint: what was committed, added, completed and carried over, in issues and story points.
    The full reasoning is the docs block fct_sprint_metrics in delivery/_delivery__docs.md.
-#}

with sprints as (

    select
        sprints.*,
        sprints.state != 'future' and sprints.start_at is not null as has_started,
        case when sprints.state = 'closed' then coalesce(sprints.complete_at, sprints.end_at) end as closed_at
    from {{ ref('stg_jira__sprints') }} as sprints

),

judged_sprints as (

    select
        sprints.*,
        -- The instant membership and status are judged at: the close, or "now in the data" while active.
        coalesce(sprints.closed_at, cast('9999-12-31 00:00:00' as timestamp)) as judged_at
    from sprints
    where sprints.has_started

),

memberships as (

    select * from {{ ref('int_issue_sprint_memberships_replayed') }}

),

issue_sprint_facts as (

    select
        memberships.sprint_id,
        memberships.issue_key,
        max(
            case
                when
                    memberships.joined_at <= judged_sprints.start_at
                    and (memberships.left_at is null or memberships.left_at > judged_sprints.start_at)
                    then 1
                else 0
            end
        ) as was_committed,
        max(
            case
                when
                    memberships.joined_at > judged_sprints.start_at
                    and memberships.joined_at <= judged_sprints.judged_at
                    then 1
                else 0
            end
        ) as joined_during_sprint,
        min(
            case
                when
                    memberships.joined_at > judged_sprints.start_at
                    and memberships.joined_at <= judged_sprints.judged_at
                    then memberships.joined_at
            end
        ) as added_at,
        max(
            case
                when
                    memberships.joined_at <= judged_sprints.judged_at
                    and (memberships.left_at is null or memberships.left_at > judged_sprints.judged_at)
                    then 1
                else 0
            end
        ) as in_sprint_at_close,
        min(case when memberships.changelog_complete then 1 else 0 end) as changelog_complete
    from memberships
    inner join judged_sprints
        on memberships.sprint_id = judged_sprints.sprint_id
    group by memberships.sprint_id, memberships.issue_key

),

done_at_close as (

    select
        issue_sprint_facts.sprint_id,
        issue_sprint_facts.issue_key
    from issue_sprint_facts
    inner join judged_sprints
        on issue_sprint_facts.sprint_id = judged_sprints.sprint_id
    inner join {{ ref('int_issue_status_transitions') }} as intervals
        on
            issue_sprint_facts.issue_key = intervals.issue_key
            and intervals.entered_at <= judged_sprints.judged_at
            and (intervals.exited_at is null or intervals.exited_at > judged_sprints.judged_at)
    where intervals.status_category = 'done'

),

estimates as (

    select * from {{ ref('int_issue_story_point_estimates') }}

),

classified as (

    select
        issue_sprint_facts.sprint_id,
        issue_sprint_facts.issue_key,
        estimates_at_start.story_points as points_at_start,
        estimates_when_added.story_points as points_when_added,
        estimates_at_close.story_points as points_at_close,
        issue_sprint_facts.was_committed = 1 as is_committed,
        issue_sprint_facts.joined_during_sprint = 1 and issue_sprint_facts.was_committed = 0 as is_added,
        issue_sprint_facts.in_sprint_at_close = 1 and done_at_close.issue_key is not null as is_completed,
        issue_sprint_facts.in_sprint_at_close = 1 and done_at_close.issue_key is null as is_open_at_close,
        issue_sprint_facts.changelog_complete = 0 as has_incomplete_changelog
    from issue_sprint_facts
    inner join judged_sprints
        on issue_sprint_facts.sprint_id = judged_sprints.sprint_id
    {%- for alias, instant in [
        ('estimates_at_start', 'judged_sprints.start_at'),
        ('estimates_when_added', 'issue_sprint_facts.added_at'),
        ('estimates_at_close', 'judged_sprints.judged_at'),
    ] %}
        left join estimates as {{ alias }}
            on
                issue_sprint_facts.issue_key = {{ alias }}.issue_key
                and ({{ alias }}.estimate_number = 0 or {{ alias }}.valid_from <= {{ instant }})
                and ({{ alias }}.valid_to is null or {{ alias }}.valid_to > {{ instant }})
    {%- endfor %}
    left join done_at_close
        on
            issue_sprint_facts.sprint_id = done_at_close.sprint_id
            and issue_sprint_facts.issue_key = done_at_close.issue_key

),

sprint_totals as (

    select
        classified.sprint_id,
        sum(case when classified.is_committed then 1 else 0 end) as committed_issues,
        sum(case when classified.is_committed then coalesce(classified.points_at_start, 0) else 0 end)
            as committed_points,
        sum(case when classified.is_added then 1 else 0 end) as added_issues,
        sum(case when classified.is_added then coalesce(classified.points_when_added, 0) else 0 end) as added_points,
        sum(case when classified.is_completed then 1 else 0 end) as completed_issues,
        sum(case when classified.is_completed then coalesce(classified.points_at_close, 0) else 0 end)
            as completed_points,
        sum(case when classified.is_open_at_close then 1 else 0 end) as open_at_close_issues,
        sum(case when classified.is_open_at_close then coalesce(classified.points_at_close, 0) else 0 end)
            as open_at_close_points,
        sum(case when classified.has_incomplete_changelog then 1 else 0 end) as issues_with_incomplete_changelog
    from classified
    group by classified.sprint_id

)

select
    cast(sprints.sprint_id as bigint) as sprint_id,
    cast(sprints.board_id as bigint) as board_id,
    cast(sprints.sprint_name as {{ dbt.type_string() }}) as sprint_name,
    cast(sprints.state as {{ dbt.type_string() }}) as state,
    cast(sprints.goal as {{ dbt.type_string() }}) as goal,
    cast(sprints.start_at as timestamp) as start_at,
    cast(sprints.end_at as timestamp) as end_at,
    cast(sprints.complete_at as timestamp) as complete_at,
    {%- for measure, measure_type in [
        ('committed_issues', 'bigint'), ('committed_points', 'decimal(12, 2)'),
        ('added_issues', 'bigint'), ('added_points', 'decimal(12, 2)'),
        ('completed_issues', 'bigint'), ('completed_points', 'decimal(12, 2)'),
    ] %}
        cast(
            case when sprints.has_started then coalesce(sprint_totals.{{ measure }}, 0) end as {{ measure_type }}
        ) as {{ measure }},
    {%- endfor %}
    {%- for measure, measure_type in [('issues', 'bigint'), ('points', 'decimal(12, 2)')] %}
        cast(
            case
                when sprints.state = 'closed' and sprints.has_started
                    then coalesce(sprint_totals.open_at_close_{{ measure }}, 0)
            end as {{ measure_type }}
        ) as carried_over_{{ measure }},
    {%- endfor %}
    cast(
        case when sprints.has_started then coalesce(sprint_totals.issues_with_incomplete_changelog, 0) end as bigint
    ) as issues_with_incomplete_changelog
from sprints
left join sprint_totals
    on sprints.sprint_id = sprint_totals.sprint_id
