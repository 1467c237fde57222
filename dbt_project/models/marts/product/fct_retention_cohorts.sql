{#-
    Retention cohorts for every entry of var('retention'): one row per (retention, cohort_start, breakdown value,
    period_number). The full reasoning is the docs block fct_retention_cohorts in product/_product__docs.md.
-#}
{%- set retentions = var('retention') -%}
{#- A JSON string is accepted too (sqlfluff's dbt templater can only pass string vars; see .sqlfluff). -#}
{%- if retentions is string %}{% set retentions = fromjson(retentions) %}{% endif -%}

{%- if retentions | length == 0 %}

    -- No retention analysis configured: an empty table with the contracted columns.
    select
        cast(null as {{ dbt.type_string() }}) as retention_cohort_id,
        cast(null as {{ dbt.type_string() }}) as retention_name,
        cast(null as {{ dbt.type_string() }}) as period_grain,
        cast(null as {{ dbt.type_string() }}) as start_event,
        cast(null as {{ dbt.type_string() }}) as return_event,
        cast(null as date) as cohort_start,
        cast(null as {{ dbt.type_string() }}) as breakdown_property,
        cast(null as {{ dbt.type_string() }}) as breakdown_value,
        cast(null as bigint) as cohort_users,
        cast(null as integer) as period_number,
        cast(null as boolean) as is_complete,
        cast(null as bigint) as users_on_period,
        cast(null as bigint) as users_on_or_after_period,
        cast(null as double) as retention_on_period,
        cast(null as double) as retention_on_or_after_period
    where 1 = 0

{%- else %}

    with events as {{ inlined_cte() }} (

        select
            sessionized.event_id,
            sessionized.user_key,
            sessionized.event_name,
            sessionized.event_at,
            sessionized.source,
            sessionized.platform,
            sessionized.country,
            sessionized.properties
        from {{ ref('int_events_sessionized') }} as sessionized

    ),

    data_as_of as (

        select max(events.event_at) as newest_event_at
        from events

    ),

    {% for retention in retentions %}
        {%- set grain = retention.period -%}
        {%- set prefix = 'retention_' ~ loop.index %}

        -- Each user's first start_event; with a breakdown, its property value too (ties: the lowest event_id).
        {{ prefix }}_cohort_events as (

            {% if retention.breakdown_property -%}
                select
                    ranked_starts.user_key,
                    ranked_starts.event_at as cohort_event_at,
                    ranked_starts.breakdown_value
                from (
                    select
                        events.user_key,
                        events.event_at,
                        coalesce(
                            cast({{ event_property(retention.breakdown_property, 'events') }} as {{ dbt.type_string() }}), '(none)'
                        ) as breakdown_value,
                        row_number() over (
                            partition by events.user_key order by events.event_at asc, events.event_id asc
                        ) as start_rank
                    from events
                    where events.event_name = {{ sql_string_literal(retention.start_event) }}
                ) as ranked_starts
                where ranked_starts.start_rank = 1
            {%- else -%}
                select
                    events.user_key,
                    min(events.event_at) as cohort_event_at,
                    '(all)' as breakdown_value
                from events
                where events.event_name = {{ sql_string_literal(retention.start_event) }}
                group by events.user_key
            {%- endif %}

        ),

        {{ prefix }}_cohorts as (

            select
                {{ prefix }}_cohort_events.user_key,
                {{ prefix }}_cohort_events.cohort_event_at,
                {{ prefix }}_cohort_events.breakdown_value,
                cast(
                    {{ dbt.date_trunc(grain, prefix ~ '_cohort_events.cohort_event_at') }} as date
                ) as cohort_start
            from {{ prefix }}_cohort_events

        ),

        {{ prefix }}_user_returns as (

            select
                {{ prefix }}_cohorts.user_key,
                {{ prefix }}_cohorts.cohort_start,
                {{ prefix }}_cohorts.breakdown_value,
                {% if grain == 'day' -%}
                    {{ dbt.datediff(
                        'cast(' ~ prefix ~ '_cohorts.cohort_event_at as date)',
                        'cast(events.event_at as date)',
                        'day'
                    ) }}
                {%- else -%}
                    cast({{ dbt.datediff(
                        prefix ~ '_cohorts.cohort_start',
                        'cast(' ~ dbt.date_trunc('week', 'events.event_at') ~ ' as date)',
                        'day'
                    ) }} / 7 as integer)
                {%- endif %} as period_number
            from {{ prefix }}_cohorts
            inner join events
                on
                    {{ prefix }}_cohorts.user_key = events.user_key
                    and events.event_name = {{ sql_string_literal(retention.return_event) }}
                    and events.event_at > {{ prefix }}_cohorts.cohort_event_at

        ),

        {{ prefix }}_periods as (

            {% for period_number in retention.periods -%}
                select {{ period_number | int }} as period_number
                {% if not loop.last %}union all{% endif %}
            {% endfor %}

        ),

        -- Counts per (cohort, breakdown value); without a breakdown the one value is '(all)'.
        {{ prefix }}_value_cohort_sizes as (

            select
                {{ prefix }}_cohorts.cohort_start,
                {{ prefix }}_cohorts.breakdown_value,
                count(*) as cohort_users
            from {{ prefix }}_cohorts
            group by {{ prefix }}_cohorts.cohort_start, {{ prefix }}_cohorts.breakdown_value

        ),

        {{ prefix }}_value_returns_on_period as (

            select
                {{ prefix }}_user_returns.cohort_start,
                {{ prefix }}_user_returns.breakdown_value,
                {{ prefix }}_user_returns.period_number,
                count(distinct {{ prefix }}_user_returns.user_key) as users_on_period
            from {{ prefix }}_user_returns
            inner join {{ prefix }}_periods
                on {{ prefix }}_user_returns.period_number = {{ prefix }}_periods.period_number
            group by
                {{ prefix }}_user_returns.cohort_start,
                {{ prefix }}_user_returns.breakdown_value,
                {{ prefix }}_user_returns.period_number

        ),

        {{ prefix }}_user_last_returns as (

            select
                {{ prefix }}_user_returns.user_key,
                {{ prefix }}_user_returns.cohort_start,
                {{ prefix }}_user_returns.breakdown_value,
                max({{ prefix }}_user_returns.period_number) as last_return_period
            from {{ prefix }}_user_returns
            group by
                {{ prefix }}_user_returns.user_key,
                {{ prefix }}_user_returns.cohort_start,
                {{ prefix }}_user_returns.breakdown_value

        ),

        {{ prefix }}_value_returns_on_or_after_period as (

            select
                {{ prefix }}_user_last_returns.cohort_start,
                {{ prefix }}_user_last_returns.breakdown_value,
                {{ prefix }}_periods.period_number,
                count(*) as users_on_or_after_period
            from {{ prefix }}_user_last_returns
            inner join {{ prefix }}_periods
                on {{ prefix }}_user_last_returns.last_return_period >= {{ prefix }}_periods.period_number
            group by
                {{ prefix }}_user_last_returns.cohort_start,
                {{ prefix }}_user_last_returns.breakdown_value,
                {{ prefix }}_periods.period_number

        ),

        -- With a breakdown, '(all)' is the sum over the values: each cohort user has exactly one value, so the
        -- whole cohort is counted from the small per-value counts, not by joining every user a second time.
        {{ prefix }}_cohort_sizes as (

            select * from {{ prefix }}_value_cohort_sizes
            {%- if retention.breakdown_property %}

                union all

                select
                    {{ prefix }}_value_cohort_sizes.cohort_start,
                    '(all)' as breakdown_value,
                    sum({{ prefix }}_value_cohort_sizes.cohort_users) as cohort_users
                from {{ prefix }}_value_cohort_sizes
                group by {{ prefix }}_value_cohort_sizes.cohort_start
            {%- endif %}

        ),

        {{ prefix }}_returns_on_period as (

            select * from {{ prefix }}_value_returns_on_period
            {%- if retention.breakdown_property %}

                union all

                select
                    {{ prefix }}_value_returns_on_period.cohort_start,
                    '(all)' as breakdown_value,
                    {{ prefix }}_value_returns_on_period.period_number,
                    sum({{ prefix }}_value_returns_on_period.users_on_period) as users_on_period
                from {{ prefix }}_value_returns_on_period
                group by
                    {{ prefix }}_value_returns_on_period.cohort_start,
                    {{ prefix }}_value_returns_on_period.period_number
            {%- endif %}

        ),

        {{ prefix }}_returns_on_or_after_period as (

            select * from {{ prefix }}_value_returns_on_or_after_period
            {%- if retention.breakdown_property %}

                union all

                select
                    {{ prefix }}_value_returns_on_or_after_period.cohort_start,
                    '(all)' as breakdown_value,
                    {{ prefix }}_value_returns_on_or_after_period.period_number,
                    sum({{ prefix }}_value_returns_on_or_after_period.users_on_or_after_period)
                        as users_on_or_after_period
                from {{ prefix }}_value_returns_on_or_after_period
                group by
                    {{ prefix }}_value_returns_on_or_after_period.cohort_start,
                    {{ prefix }}_value_returns_on_or_after_period.period_number
            {%- endif %}

        ),

        {{ prefix }}_cohort_periods as (

            select
                {{ prefix }}_cohort_sizes.cohort_start,
                {{ prefix }}_cohort_sizes.breakdown_value,
                {{ prefix }}_cohort_sizes.cohort_users,
                {{ prefix }}_periods.period_number,
                {{ dbt.dateadd(
                    grain,
                    prefix ~ '_periods.period_number + 1',
                    prefix ~ '_cohort_sizes.cohort_start'
                ) }}
                <= (select data_as_of.newest_event_at from data_as_of) as is_complete
            from {{ prefix }}_cohort_sizes
            cross join {{ prefix }}_periods

        ),

        {{ prefix }}_rows as (

            select
                {{ sql_string_literal(retention.name) }} as retention_name,
                {{ sql_string_literal(grain) }} as period_grain,
                {{ sql_string_literal(retention.start_event) }} as start_event,
                {{ sql_string_literal(retention.return_event) }} as return_event,
                {{ prefix }}_cohort_periods.cohort_start,
                {% if retention.breakdown_property -%}
                    {{ sql_string_literal(retention.breakdown_property) }}
                {%- else -%}
                    cast(null as {{ dbt.type_string() }})
                {%- endif %} as breakdown_property,
                {{ prefix }}_cohort_periods.breakdown_value,
                {{ prefix }}_cohort_periods.cohort_users,
                {{ prefix }}_cohort_periods.period_number,
                {{ prefix }}_cohort_periods.is_complete,
                case
                    when {{ prefix }}_cohort_periods.is_complete
                        then coalesce({{ prefix }}_returns_on_period.users_on_period, 0)
                end as users_on_period,
                case
                    when {{ prefix }}_cohort_periods.is_complete
                        then coalesce({{ prefix }}_returns_on_or_after_period.users_on_or_after_period, 0)
                end as users_on_or_after_period
            from {{ prefix }}_cohort_periods
            left join {{ prefix }}_returns_on_period
                on
                    {{ prefix }}_cohort_periods.cohort_start = {{ prefix }}_returns_on_period.cohort_start
                    and {{ prefix }}_cohort_periods.breakdown_value = {{ prefix }}_returns_on_period.breakdown_value
                    and {{ prefix }}_cohort_periods.period_number = {{ prefix }}_returns_on_period.period_number
            left join {{ prefix }}_returns_on_or_after_period
                on
                    {{ prefix }}_cohort_periods.cohort_start = {{ prefix }}_returns_on_or_after_period.cohort_start
                    and {{ prefix }}_cohort_periods.breakdown_value
                    = {{ prefix }}_returns_on_or_after_period.breakdown_value
                    and {{ prefix }}_cohort_periods.period_number
                    = {{ prefix }}_returns_on_or_after_period.period_number

        ),

    {% endfor %}

    all_retention_rows as (

        {% for retention in retentions -%}
            select * from retention_{{ loop.index }}_rows
            {% if not loop.last %}union all{% endif %}
        {% endfor %}

    )

    select
        -- The '(all)' rows keep the key they had before breakdowns existed, so whole-cohort rows keep their ids.
        cast(
            case
                when all_retention_rows.breakdown_value = '(all)'
                    then {{ surrogate_key([
                        'all_retention_rows.retention_name',
                        'all_retention_rows.cohort_start',
                        'all_retention_rows.period_number'
                    ]) }}
                else {{ surrogate_key([
                    'all_retention_rows.retention_name',
                    'all_retention_rows.cohort_start',
                    'all_retention_rows.breakdown_value',
                    'all_retention_rows.period_number'
                ]) }}
            end as {{ dbt.type_string() }}
        ) as retention_cohort_id,
        cast(all_retention_rows.retention_name as {{ dbt.type_string() }}) as retention_name,
        cast(all_retention_rows.period_grain as {{ dbt.type_string() }}) as period_grain,
        cast(all_retention_rows.start_event as {{ dbt.type_string() }}) as start_event,
        cast(all_retention_rows.return_event as {{ dbt.type_string() }}) as return_event,
        cast(all_retention_rows.cohort_start as date) as cohort_start,
        cast(all_retention_rows.breakdown_property as {{ dbt.type_string() }}) as breakdown_property,
        cast(all_retention_rows.breakdown_value as {{ dbt.type_string() }}) as breakdown_value,
        cast(all_retention_rows.cohort_users as bigint) as cohort_users,
        cast(all_retention_rows.period_number as integer) as period_number,
        cast(all_retention_rows.is_complete as boolean) as is_complete,
        cast(all_retention_rows.users_on_period as bigint) as users_on_period,
        cast(all_retention_rows.users_on_or_after_period as bigint) as users_on_or_after_period,
        cast(
            cast(all_retention_rows.users_on_period as double) / all_retention_rows.cohort_users as double
        ) as retention_on_period,
        cast(
            cast(all_retention_rows.users_on_or_after_period as double) / all_retention_rows.cohort_users as double
        ) as retention_on_or_after_period
    from all_retention_rows

{%- endif %}
