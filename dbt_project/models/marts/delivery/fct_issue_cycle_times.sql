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
    a partial history would report too-short times and missed reopens as if they were true. Likewise a status no
    source categorises (int_jira_statuses_categorised) makes NULL each value its category could change, and the
    row says so: has_uncategorised_status, uncategorised_statuses (the names to categorise, e.g. through
    jira.status_category_overrides).
-#}

with issues as (

    select * from {{ ref('int_issues_categorised') }}

),

intervals as (

    select * from {{ ref('int_issue_status_transitions') }}

),

closing_runs as (

    -- The last interval in a known non-done category; the done intervals after it form the closing run.
    select
        intervals.issue_key,
        max(
            case
                when intervals.status_category is not null and intervals.status_category != 'done'
                    then intervals.transition_number
            end
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
        sum(case when intervals.status_category = 'done' then intervals.seconds_in_status end) as seconds_in_done,
        -- Intervals in a status no source categorises (int_jira_statuses_categorised): what they may change.
        min(case when intervals.status_category is null then intervals.entered_at end) as first_uncategorised_at,
        max(
            case
                when
                    intervals.status_category is null
                    and intervals.transition_number > coalesce(closing_runs.last_open_transition_number, -1)
                    then 1
                else 0
            end
        ) = 1 as closing_run_uncategorised,
        max(
            case when intervals.status_category is null and intervals.seconds_in_status is not null then 1 else 0 end
        ) = 1 as finished_interval_uncategorised
    from intervals
    inner join closing_runs
        on intervals.issue_key = closing_runs.issue_key
    group by intervals.issue_key

),

uncategorised_statuses as (

    select
        distinct_statuses.issue_key,
        {{ dbt.listagg('distinct_statuses.status', "', '", 'order by distinct_statuses.status') }}
            as uncategorised_statuses
    from (
        select distinct
            intervals.issue_key,
            intervals.status
        from intervals
        where intervals.status_category is null
    ) as distinct_statuses
    group by distinct_statuses.issue_key

),

trusted_facts as (

    -- A value an uncategorised interval could change is NULL, never the value as if that status were none of
    -- the categories: an uncategorised interval before the first known in-progress (or done) entry may be that
    -- entry; one after the last known open interval may belong to the closing run (done_at, lead and cycle
    -- time); a finished one holds time of some category; any one may be a reopen or its end.
    select
        issues.issue_key,
        case
            when
                interval_facts.first_uncategorised_at is null
                or interval_facts.first_uncategorised_at >= interval_facts.first_in_progress_at
                then interval_facts.first_in_progress_at
        end as first_in_progress_at,
        case
            when
                interval_facts.first_uncategorised_at is null
                or interval_facts.first_uncategorised_at >= interval_facts.first_done_at
                then interval_facts.first_done_at
        end as first_done_at,
        case when not interval_facts.closing_run_uncategorised then interval_facts.done_at end as done_at,
        case when interval_facts.first_uncategorised_at is null then interval_facts.reopen_count end as reopen_count,
        interval_facts.status_change_count,
        case when not interval_facts.finished_interval_uncategorised then interval_facts.seconds_in_new end
            as seconds_in_new,
        case when not interval_facts.finished_interval_uncategorised then interval_facts.seconds_in_indeterminate end
            as seconds_in_indeterminate,
        case when not interval_facts.finished_interval_uncategorised then interval_facts.seconds_in_done end
            as seconds_in_done
    from issues
    inner join interval_facts
        on issues.issue_key = interval_facts.issue_key
    where issues.changelog_complete

)

select
    cast(issues.issue_key as {{ dbt.type_string() }}) as issue_key,
    cast(issues.project_key as {{ dbt.type_string() }}) as project_key,
    cast(issues.issue_type as {{ dbt.type_string() }}) as issue_type,
    cast(issues.hierarchy_level as integer) as hierarchy_level,
    cast(rollup.epic_key as {{ dbt.type_string() }}) as epic_key,
    cast(rollup.initiative_key as {{ dbt.type_string() }}) as initiative_key,
    cast(issues.status as {{ dbt.type_string() }}) as status,
    cast(issues.status_category as {{ dbt.type_string() }}) as status_category,
    -- NULL when the current status has no known category: not done and not open, but unknown (flagged).
    cast(issues.status_category = 'done' as boolean) as is_done,
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
    cast(issues.changelog_complete as boolean) as changelog_complete,
    cast(uncategorised_statuses.uncategorised_statuses is not null as boolean) as has_uncategorised_status,
    cast(uncategorised_statuses.uncategorised_statuses as {{ dbt.type_string() }}) as uncategorised_statuses
from issues
left join trusted_facts
    on issues.issue_key = trusted_facts.issue_key
left join uncategorised_statuses
    on issues.issue_key = uncategorised_statuses.issue_key
left join {{ ref('int_issues_rolled_up_to_initiatives') }} as rollup
    on issues.issue_key = rollup.issue_key
