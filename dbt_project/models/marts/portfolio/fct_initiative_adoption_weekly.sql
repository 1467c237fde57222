{#-
    Adoption of every shipped initiative of var('initiatives'), per week since its ship instant: one row per
    (initiative, week_index) for the weeks with any event. Week k is [shipped_at + 7k days, shipped_at + 7(k+1)
    days), so week 0 starts at the ship instant itself, not at a calendar Monday.

    adopting_users: users (user_key) with any of the initiative's adoption events that week; adopting_accounts:
    distinct billing customers of those users (matched by user id); active_users: users with any event that week
    (anonymous visitors included, as fct_active_users); adoption_share = adopting / active. is_complete_week: the
    week has fully elapsed by the newest event (a partial last week is reported, marked).
-#}

with shipped as (

    select
        windows.initiative_key,
        windows.shipped_at
    from {{ ref('int_initiative_windows_defined') }} as windows
    where windows.is_shipped

),

events as {{ inlined_cte() }} (

    select
        sessionized.user_key,
        sessionized.resolved_user_id,
        sessionized.event_name,
        sessionized.event_at
    from {{ ref('int_events_sessionized') }} as sessionized

),

data_as_of as (

    select max(events.event_at) as newest_event_at
    from events

),

adoption_events as (

    {{ initiative_adoption_events() }}

),

weekly_events as (

    select
        shipped.initiative_key,
        shipped.shipped_at,
        cast(floor({{ seconds_between('shipped.shipped_at', 'events.event_at') }} / 604800) as integer) as week_index,
        events.user_key,
        events.resolved_user_id,
        adoption_events.event_name is not null as is_adoption
    from shipped
    inner join events
        on events.event_at >= shipped.shipped_at
    left join adoption_events
        on
            shipped.initiative_key = adoption_events.initiative_key
            and events.event_name = adoption_events.event_name

),

adopters as (

    select distinct
        weekly_events.initiative_key,
        weekly_events.week_index,
        weekly_events.user_key,
        weekly_events.resolved_user_id
    from weekly_events
    where weekly_events.is_adoption

),

active as (

    select
        weekly_events.initiative_key,
        weekly_events.shipped_at,
        weekly_events.week_index,
        count(distinct weekly_events.user_key) as active_users
    from weekly_events
    group by weekly_events.initiative_key, weekly_events.shipped_at, weekly_events.week_index

),

adopted as (

    select
        adopters.initiative_key,
        adopters.week_index,
        count(distinct adopters.user_key) as adopting_users
    from adopters
    group by adopters.initiative_key, adopters.week_index

),

accounts as (

    select
        adopters.initiative_key,
        adopters.week_index,
        count(distinct customers.customer_id) as adopting_accounts
    from adopters
    inner join {{ ref('stg_billing__customers') }} as customers
        on adopters.resolved_user_id = customers.user_id
    group by adopters.initiative_key, adopters.week_index

),

weeks as (

    select
        active.initiative_key,
        active.week_index,
        {{ dbt.dateadd('day', '7 * active.week_index', 'active.shipped_at') }} as week_start,
        coalesce(adopted.adopting_users, 0) as adopting_users,
        coalesce(accounts.adopting_accounts, 0) as adopting_accounts,
        active.active_users
    from active
    left join adopted
        on active.initiative_key = adopted.initiative_key and active.week_index = adopted.week_index
    left join accounts
        on active.initiative_key = accounts.initiative_key and active.week_index = accounts.week_index

)

select
    weeks.initiative_key,
    cast(weeks.week_index as integer) as week_index,
    cast(weeks.week_start as timestamp) as week_start,
    cast(weeks.adopting_users as bigint) as adopting_users,
    cast(weeks.adopting_accounts as bigint) as adopting_accounts,
    cast(weeks.active_users as bigint) as active_users,
    cast(weeks.adopting_users as double) / weeks.active_users as adoption_share,
    {{ dbt.dateadd('day', 7, 'weeks.week_start') }} <= data_as_of.newest_event_at as is_complete_week
from weeks
cross join data_as_of
