{#-
    Retention cohorts for every entry of var('retention'), one row per (retention, cohort_start, period_number).
    The full reasoning is the docs block fct_retention_cohorts in product/_product__docs.md.
-#}
{%- set retentions = var('retention') -%}
{#- A JSON string is accepted too (sqlfluff's dbt templater can only pass string vars; see .sqlfluff). -#}
{%- if retentions is string %}{% set retentions = fromjson(retentions) %}{% endif -%}

{%- if retentions | length == 0 %}

    -- No retention analysis configured: an empty table with the contracted columns.
    select
        cast(null as varchar) as retention_cohort_id,
        cast(null as varchar) as retention_name,
        cast(null as varchar) as period_grain,
        cast(null as varchar) as start_event,
        cast(null as varchar) as return_event,
        cast(null as date) as cohort_start,
        cast(null as bigint) as cohort_users,
        cast(null as integer) as period_number,
        cast(null as boolean) as is_complete,
        cast(null as bigint) as users_on_period,
        cast(null as bigint) as users_on_or_after_period,
        cast(null as double) as retention_on_period,
        cast(null as double) as retention_on_or_after_period
    where 1 = 0

{%- else %}

    with events as (

        select
            sessionized.user_key,
            sessionized.event_name,
            sessionized.event_at
        from {{ ref('int_events_sessionized') }} as sessionized

    ),

    data_as_of as (

        select max(events.event_at) as newest_event_at
        from events

    ),

    {% for retention in retentions %}
        {%- set grain = retention.period -%}

        cohort_events_{{ loop.index }} as (

            select
                events.user_key,
                min(events.event_at) as cohort_event_at
            from events
            where events.event_name = {{ sql_string_literal(retention.start_event) }}
            group by events.user_key

        ),

        cohorts_{{ loop.index }} as (

            select
                cohort_events_{{ loop.index }}.user_key,
                cohort_events_{{ loop.index }}.cohort_event_at,
                cast(
                    {{ dbt.date_trunc(grain, 'cohort_events_' ~ loop.index ~ '.cohort_event_at') }} as date
                ) as cohort_start
            from cohort_events_{{ loop.index }}

        ),

        user_returns_{{ loop.index }} as (

            select
                cohorts_{{ loop.index }}.user_key,
                cohorts_{{ loop.index }}.cohort_start,
                {% if grain == 'day' -%}
                    {{ dbt.datediff(
                        'cast(cohorts_' ~ loop.index ~ '.cohort_event_at as date)',
                        'cast(events.event_at as date)',
                        'day'
                    ) }}
                {%- else -%}
                    cast({{ dbt.datediff(
                        'cohorts_' ~ loop.index ~ '.cohort_start',
                        'cast(' ~ dbt.date_trunc('week', 'events.event_at') ~ ' as date)',
                        'day'
                    ) }} / 7 as integer)
                {%- endif %} as period_number
            from cohorts_{{ loop.index }}
            inner join events
                on
                    cohorts_{{ loop.index }}.user_key = events.user_key
                    and events.event_name = {{ sql_string_literal(retention.return_event) }}
                    and events.event_at > cohorts_{{ loop.index }}.cohort_event_at

        ),

        user_return_summary_{{ loop.index }} as (

            select
                user_returns_{{ loop.index }}.user_key,
                max(user_returns_{{ loop.index }}.period_number) as last_return_period
            from user_returns_{{ loop.index }}
            group by user_returns_{{ loop.index }}.user_key

        ),

        periods_{{ loop.index }} as (

            {% for period_number in retention.periods -%}
                select {{ period_number | int }} as period_number
                {% if not loop.last %}union all{% endif %}
            {% endfor %}

        ),

        cohort_sizes_{{ loop.index }} as (

            select
                cohorts_{{ loop.index }}.cohort_start,
                count(*) as cohort_users
            from cohorts_{{ loop.index }}
            group by cohorts_{{ loop.index }}.cohort_start

        ),

        cohort_periods_{{ loop.index }} as (

            select
                cohort_sizes_{{ loop.index }}.cohort_start,
                cohort_sizes_{{ loop.index }}.cohort_users,
                periods_{{ loop.index }}.period_number,
                {{ dbt.dateadd(
                    grain,
                    'periods_' ~ loop.index ~ '.period_number + 1',
                    'cohort_sizes_' ~ loop.index ~ '.cohort_start'
                ) }}
                <= (select data_as_of.newest_event_at from data_as_of) as is_complete
            from cohort_sizes_{{ loop.index }}
            cross join periods_{{ loop.index }}

        ),

        returns_on_period_{{ loop.index }} as (

            select
                user_returns_{{ loop.index }}.cohort_start,
                user_returns_{{ loop.index }}.period_number,
                count(distinct user_returns_{{ loop.index }}.user_key) as users_on_period
            from user_returns_{{ loop.index }}
            group by user_returns_{{ loop.index }}.cohort_start, user_returns_{{ loop.index }}.period_number

        ),

        returns_on_or_after_period_{{ loop.index }} as (

            select
                cohort_periods_{{ loop.index }}.cohort_start,
                cohort_periods_{{ loop.index }}.period_number,
                count(*) as users_on_or_after_period
            from cohort_periods_{{ loop.index }}
            inner join cohorts_{{ loop.index }}
                on cohort_periods_{{ loop.index }}.cohort_start = cohorts_{{ loop.index }}.cohort_start
            inner join user_return_summary_{{ loop.index }}
                on
                    cohorts_{{ loop.index }}.user_key = user_return_summary_{{ loop.index }}.user_key
                    and user_return_summary_{{ loop.index }}.last_return_period
                    >= cohort_periods_{{ loop.index }}.period_number
            group by cohort_periods_{{ loop.index }}.cohort_start, cohort_periods_{{ loop.index }}.period_number

        ),

        retention_rows_{{ loop.index }} as (

            select
                {{ sql_string_literal(retention.name) }} as retention_name,
                {{ sql_string_literal(grain) }} as period_grain,
                {{ sql_string_literal(retention.start_event) }} as start_event,
                {{ sql_string_literal(retention.return_event) }} as return_event,
                cohort_periods_{{ loop.index }}.cohort_start,
                cohort_periods_{{ loop.index }}.cohort_users,
                cohort_periods_{{ loop.index }}.period_number,
                cohort_periods_{{ loop.index }}.is_complete,
                case
                    when cohort_periods_{{ loop.index }}.is_complete
                        then coalesce(returns_on_period_{{ loop.index }}.users_on_period, 0)
                end as users_on_period,
                case
                    when cohort_periods_{{ loop.index }}.is_complete
                        then coalesce(returns_on_or_after_period_{{ loop.index }}.users_on_or_after_period, 0)
                end as users_on_or_after_period
            from cohort_periods_{{ loop.index }}
            left join returns_on_period_{{ loop.index }}
                on
                    cohort_periods_{{ loop.index }}.cohort_start = returns_on_period_{{ loop.index }}.cohort_start
                    and cohort_periods_{{ loop.index }}.period_number = returns_on_period_{{ loop.index }}.period_number
            left join returns_on_or_after_period_{{ loop.index }}
                on
                    cohort_periods_{{ loop.index }}.cohort_start
                    = returns_on_or_after_period_{{ loop.index }}.cohort_start
                    and cohort_periods_{{ loop.index }}.period_number
                    = returns_on_or_after_period_{{ loop.index }}.period_number

        ),

    {% endfor %}

    all_retention_rows as (

        {% for retention in retentions -%}
            select * from retention_rows_{{ loop.index }}
            {% if not loop.last %}union all{% endif %}
        {% endfor %}

    )

    select
        cast({{ surrogate_key([
            'all_retention_rows.retention_name',
            'all_retention_rows.cohort_start',
            'all_retention_rows.period_number'
        ]) }} as varchar) as retention_cohort_id,
        cast(all_retention_rows.retention_name as varchar) as retention_name,
        cast(all_retention_rows.period_grain as varchar) as period_grain,
        cast(all_retention_rows.start_event as varchar) as start_event,
        cast(all_retention_rows.return_event as varchar) as return_event,
        cast(all_retention_rows.cohort_start as date) as cohort_start,
        cast(all_retention_rows.cohort_users as bigint) as cohort_users,
        cast(all_retention_rows.period_number as integer) as period_number,
        cast(all_retention_rows.is_complete as boolean) as is_complete,
        cast(all_retention_rows.users_on_period as bigint) as users_on_period,
        cast(all_retention_rows.users_on_or_after_period as bigint) as users_on_or_after_period,
        cast(
            all_retention_rows.users_on_period * 1.0 / all_retention_rows.cohort_users as double
        ) as retention_on_period,
        cast(
            all_retention_rows.users_on_or_after_period * 1.0 / all_retention_rows.cohort_users as double
        ) as retention_on_or_after_period
    from all_retention_rows

{%- endif %}
