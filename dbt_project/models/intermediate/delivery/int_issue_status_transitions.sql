{#-
    One row per status interval per issue: the status the issue was created in (from created_at until the first
    status change), then one interval per changelog `status` item (transition_number 1, 2, ...), each ending when
    the next one starts. The current interval has no exit (exited_at and seconds_in_status NULL, is_current), so
    the model depends on the data only, never on when it runs.

    The initial status is the `from` of the first recorded status change, or the issue's current status when the
    changelog records none. Categories come from int_jira_statuses_categorised (the exports' own categories, or the
    configured overrides), never from status names here. A reopen is a move from a done category to any other.
    Changes at the same instant keep Jira's order: history id (numeric, compared by length then text), then item.
    changelog_complete is carried along: intervals of an issue whose inline changelog was cut short are partial.
-#}

with issues as (

    select
        issues.issue_key,
        issues.status,
        issues.created_at,
        issues.changelog_complete
    from {{ ref('int_issues_categorised') }} as issues

),

status_changes as (

    select
        changelog.issue_key,
        changelog.changed_at,
        trim(changelog.from_value) as from_status,
        trim(changelog.to_value) as to_status,
        row_number() over (
            partition by changelog.issue_key
            order by
                changelog.changed_at,
                {{ dbt.length('changelog.history_id') }},
                changelog.history_id,
                changelog.item_index
        ) as transition_number
    from {{ ref('stg_jira__changelog') }} as changelog
    inner join issues
        on changelog.issue_key = issues.issue_key
    where lower(coalesce(changelog.field_id, changelog.field)) = 'status'

),

intervals as (

    select
        issues.issue_key,
        0 as transition_number,
        coalesce(first_change.from_status, issues.status) as status,
        issues.created_at as entered_at
    from issues
    left join status_changes as first_change
        on issues.issue_key = first_change.issue_key and first_change.transition_number = 1

    union all

    select
        status_changes.issue_key,
        status_changes.transition_number,
        status_changes.to_status as status,
        status_changes.changed_at as entered_at
    from status_changes

),

categorised as (

    select
        intervals.issue_key,
        intervals.transition_number,
        intervals.status,
        categories.status_category,
        intervals.entered_at,
        lead(intervals.entered_at) over (
            partition by intervals.issue_key order by intervals.transition_number
        ) as exited_at,
        lag(intervals.status) over (
            partition by intervals.issue_key order by intervals.transition_number
        ) as previous_status,
        lag(categories.status_category) over (
            partition by intervals.issue_key order by intervals.transition_number
        ) as previous_status_category
    from intervals
    left join {{ ref('int_jira_statuses_categorised') }} as categories
        on lower(intervals.status) = categories.status_key

)

select
    {{ surrogate_key(['categorised.issue_key', 'categorised.transition_number']) }} as status_interval_id,
    categorised.issue_key,
    cast(categorised.transition_number as {{ dbt.type_int() }}) as transition_number,
    categorised.status,
    categorised.status_category,
    categorised.previous_status,
    categorised.previous_status_category,
    categorised.entered_at,
    categorised.exited_at,
    {{ seconds_between('categorised.entered_at', 'categorised.exited_at') }} as seconds_in_status,
    categorised.exited_at is null as is_current,
    coalesce(
        categorised.previous_status_category = 'done' and coalesce(categorised.status_category, '') != 'done',
        false
    ) as is_reopen,
    issues.changelog_complete
from categorised
inner join issues
    on categorised.issue_key = issues.issue_key
