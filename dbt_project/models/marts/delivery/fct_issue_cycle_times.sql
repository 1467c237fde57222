{#-
    One row per issue: when work started and finished, from the status intervals.

    first_in_progress_at: first entry into an `indeterminate` category. first_done_at: first entry into `done`.
    done_at: the final move to done, i.e. the start of the closing run of done intervals (a move between two done
    statuses, Done -> Closed, does not move it); NULL unless the issue is in a done category now, so a reopened
    issue has no done_at until it is done again, and then the later time counts.
    lead_time = created -> done_at; cycle_time = first in progress -> done_at (NULL if it never was in progress).
    Time per category sums the finished intervals only (the current one has no end), so a rebuild at any time gives
    the same rows.

    Changelog-derived columns are NULL when the issue's inline changelog was cut short (changelog_complete false):
    a partial history would report too-short times and missed reopens as if they were true.
-#}

with issues as (

    select * from {{ ref('int_issues_categorised') }}

),

intervals as (

    select * from {{ ref('int_issue_status_transitions') }}

),

closing_runs as (

    -- The last interval outside a done category; the done intervals after it form the closing run.
    select
        intervals.issue_key,
        max(
            case when coalesce(intervals.status_category, '') != 'done' then intervals.transition_number end
        ) as last_open_transition_number
    from intervals
    group by intervals.issue_key

),

interval_facts as (

    select
        intervals.issue_key,
        min(case when intervals.status_category = 'indeterminate' then intervals.entered_at end)
            as first_in_progress_at,
        min(case when intervals.status_category = 'done' then intervals.entered_at end) as first_done_at,
        min(
            case
                when
                    intervals.status_category = 'done'
                    and intervals.transition_number > coalesce(closing_runs.last_open_transition_number, -1)
                    then intervals.entered_at
            end
        ) as done_at,
        sum(case when intervals.is_reopen then 1 else 0 end) as reopen_count,
        max(intervals.transition_number) as status_change_count,
        sum(case when intervals.status_category = 'new' then intervals.seconds_in_status end) as seconds_in_new,
        sum(case when intervals.status_category = 'indeterminate' then intervals.seconds_in_status end)
            as seconds_in_indeterminate,
        sum(case when intervals.status_category = 'done' then intervals.seconds_in_status end) as seconds_in_done
    from intervals
    inner join closing_runs
        on intervals.issue_key = closing_runs.issue_key
    group by intervals.issue_key

),

trusted_facts as (

    select
        issues.issue_key,
        interval_facts.first_in_progress_at,
        interval_facts.first_done_at,
        interval_facts.done_at,
        interval_facts.reopen_count,
        interval_facts.status_change_count,
        interval_facts.seconds_in_new,
        interval_facts.seconds_in_indeterminate,
        interval_facts.seconds_in_done
    from issues
    inner join interval_facts
        on issues.issue_key = interval_facts.issue_key
    where issues.changelog_complete

)

select
    cast(issues.issue_key as varchar) as issue_key,
    cast(issues.project_key as varchar) as project_key,
    cast(issues.issue_type as varchar) as issue_type,
    cast(issues.hierarchy_level as integer) as hierarchy_level,
    cast(rollup.epic_key as varchar) as epic_key,
    cast(rollup.initiative_key as varchar) as initiative_key,
    cast(issues.status as varchar) as status,
    cast(issues.status_category as varchar) as status_category,
    cast(coalesce(issues.status_category = 'done', false) as boolean) as is_done,
    cast(issues.created_at as timestamp) as created_at,
    cast(trusted_facts.first_in_progress_at as timestamp) as first_in_progress_at,
    cast(trusted_facts.first_done_at as timestamp) as first_done_at,
    cast(trusted_facts.done_at as timestamp) as done_at,
    cast(issues.resolved_at as timestamp) as resolved_at,
    {{ seconds_between('issues.created_at', 'trusted_facts.done_at') }} as lead_time_seconds,
    {{ seconds_between('trusted_facts.first_in_progress_at', 'trusted_facts.done_at') }} as cycle_time_seconds,
    cast(trusted_facts.reopen_count as integer) as reopen_count,
    cast(trusted_facts.status_change_count as integer) as status_change_count,
    cast(trusted_facts.seconds_in_new as double) as seconds_in_new,
    cast(trusted_facts.seconds_in_indeterminate as double) as seconds_in_indeterminate,
    cast(trusted_facts.seconds_in_done as double) as seconds_in_done,
    cast(issues.story_points as decimal(10, 2)) as story_points,
    cast(issues.changelog_complete as boolean) as changelog_complete
from issues
left join trusted_facts
    on issues.issue_key = trusted_facts.issue_key
left join {{ ref('int_issues_rolled_up_to_initiatives') }} as rollup
    on issues.issue_key = rollup.issue_key
