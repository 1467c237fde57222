{#-
    Daily active users and their rolling counts, one row per calendar day from the first to the last day with
    activity (UTC). A user is a resolved user key (int_events_sessionized), anonymous visitors included.

    No join of days against users: each user-day row covers the dates it keeps the user "active in the last
    7 (28) days", [activity_date, min(activity_date + 7, next_activity_date)), so ranges of one user never
    overlap; each range adds +1 at its start and -1 at its end, and a running sum over the calendar turns the
    changes into counts. Cost is one row per user-day, whatever the window length.

    Incremental by day: int_events_sessionized rewrites (restamps) every event whose user or session changed, so
    the days a build can change are those from the earliest event of the batches not consumed yet (late events
    and re-keyed users included) to the newest: a day's counts read only user-days of the 28 days up to it, and
    a user's first day (new_users) only moves to an earlier, rewritten day. Those days are recomputed from the
    user-days of the 28 days before the earliest one (every range covering them starts there) and replace their
    rows (delete+insert by activity_date); older days are kept. The first build, or --full-refresh, computes all.
-#}
{{
    config(
        materialized=pmw_incremental_materialization('replace_by_key'),
        unique_key='activity_date',
        incremental_strategy=pmw_incremental_strategy('replace_by_key'),
        on_schema_change='fail',
        post_hook="{{ record_consumed_batches('fct_active_users') }}",
    )
}}

{% if is_incremental() -%}
    {#- The earliest day the unconsumed batches touch (NULL when there are none: nothing is recomputed). -#}
    {%- set first_changed_date -%}
        (
            select cast(min(rewritten.event_at) as date)
            from {{ ref('int_events_sessionized') }} as rewritten
            where rewritten.sessionized_through > {{ consumed_batches('fct_active_users') }}
        )
    {%- endset -%}
{%- endif %}

with user_days as (

    select distinct
        sessionized.user_key,
        cast(sessionized.event_at as date) as activity_date
    from {{ ref('int_events_sessionized') }} as sessionized
    {% if is_incremental() -%}
        where
            sessionized.event_at
            >= cast({{ dbt.dateadd('day', -28, first_changed_date) }} as date)
    {%- endif %}

),

{% if is_incremental() -%}
    -- A user's first day ever, for new_users: the user-days above start 28 days before the recomputed ones.
    first_activity_dates as (

        select
            sessionized.user_key,
            cast(min(sessionized.event_at) as date) as first_activity_date
        from {{ ref('int_events_sessionized') }} as sessionized
        where sessionized.user_key in (select user_days.user_key from user_days)
        group by sessionized.user_key

    ),
{%- endif %}

user_day_sequence as (

    select
        user_days.user_key,
        user_days.activity_date,
        lead(user_days.activity_date) over (
            partition by user_days.user_key order by user_days.activity_date
        ) as next_activity_date,
        {% if is_incremental() -%}
            first_activity_dates.first_activity_date
        {%- else -%}
            min(user_days.activity_date) over (partition by user_days.user_key) as first_activity_date
        {%- endif %}
    from user_days
    {% if is_incremental() -%}
        inner join first_activity_dates
            on user_days.user_key = first_activity_dates.user_key
    {%- endif %}

),

active_ranges as (

    select
        user_day_sequence.activity_date,
        user_day_sequence.first_activity_date,
        -- The user leaves the window when it slides past this day, or earlier when the next active day
        -- takes over (the next user-day row then covers the dates from there).
        case
            when
                user_day_sequence.next_activity_date is not null
                and user_day_sequence.next_activity_date
                < cast({{ dbt.dateadd('day', 7, 'user_day_sequence.activity_date') }} as date)
                then user_day_sequence.next_activity_date
            else cast({{ dbt.dateadd('day', 7, 'user_day_sequence.activity_date') }} as date)
        end as wau_range_end,
        case
            when
                user_day_sequence.next_activity_date is not null
                and user_day_sequence.next_activity_date
                < cast({{ dbt.dateadd('day', 28, 'user_day_sequence.activity_date') }} as date)
                then user_day_sequence.next_activity_date
            else cast({{ dbt.dateadd('day', 28, 'user_day_sequence.activity_date') }} as date)
        end as mau_range_end
    from user_day_sequence

),

changes as (

    select
        active_ranges.activity_date as change_date,
        1 as dau_change,
        1 as wau_change,
        1 as mau_change,
        case when active_ranges.activity_date = active_ranges.first_activity_date then 1 else 0 end as new_user
    from active_ranges

    union all

    select
        active_ranges.wau_range_end as change_date,
        0 as dau_change,
        -1 as wau_change,
        0 as mau_change,
        0 as new_user
    from active_ranges

    union all

    select
        active_ranges.mau_range_end as change_date,
        0 as dau_change,
        0 as wau_change,
        -1 as mau_change,
        0 as new_user
    from active_ranges

),

daily_changes as (

    select
        changes.change_date,
        sum(changes.dau_change) as dau,
        sum(changes.wau_change) as wau_change,
        sum(changes.mau_change) as mau_change,
        sum(changes.new_user) as new_users
    from changes
    group by changes.change_date

),

calendar as (

    {{ date_spine(
        '(select min(user_days.activity_date) from user_days)',
        '(select max(user_days.activity_date) from user_days)'
    ) }}

),

daily_counts as (

    select
        calendar.calendar_date as activity_date,
        coalesce(daily_changes.dau, 0) as dau,
        coalesce(daily_changes.new_users, 0) as new_users,
        sum(coalesce(daily_changes.wau_change, 0)) over (
            order by calendar.calendar_date rows between unbounded preceding and current row
        ) as wau,
        sum(coalesce(daily_changes.mau_change, 0)) over (
            order by calendar.calendar_date rows between unbounded preceding and current row
        ) as mau
    from calendar
    left join daily_changes
        on calendar.calendar_date = daily_changes.change_date

)

select
    cast(daily_counts.activity_date as date) as activity_date,
    cast(daily_counts.dau as bigint) as dau,
    cast(daily_counts.wau as bigint) as wau,
    cast(daily_counts.mau as bigint) as mau,
    cast(
        case when daily_counts.mau > 0 then cast(daily_counts.dau as double) / daily_counts.mau end as double
    ) as stickiness,
    cast(daily_counts.new_users as bigint) as new_users,
    cast(daily_counts.dau - daily_counts.new_users as bigint) as returning_users
from daily_counts
{% if is_incremental() -%}
    -- The days before it only served to open the ranges still covering the recomputed days.
    where daily_counts.activity_date >= {{ first_changed_date }}
{%- endif %}
