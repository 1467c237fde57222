{#-
    Funnel conversion for every entry of var('funnels'): one row per (funnel, period, breakdown value, step).
    The full reasoning is the docs block fct_funnel_conversion in product/_product__docs.md.

    Incremental by period: a period's rows depend only on the paths starting in it, i.e. on its events and those
    up to one conversion window after it. int_events_sessionized rewrites (restamps) every event whose user changed,
    so a build recomputes, per funnel, the periods from the one holding (earliest event of the batches not
    consumed yet - conversion window - 1 s, for same_second) to the newest, from the events since the earliest of
    those periods, and replaces their rows (delete+insert by funnel and period); older periods are kept.
-#}
{{
    config(
        materialized=pmw_incremental_materialization('replace_by_key'),
        unique_key=['funnel_name', 'period_start'],
        incremental_strategy=pmw_incremental_strategy('replace_by_key'),
        on_schema_change='fail',
        post_hook="{{ record_consumed_batches('fct_funnel_conversion') }}",
    )
}}
{%- set funnels = var('funnels') -%}
{#- A JSON string is accepted too (sqlfluff's dbt templater can only pass string vars; see .sqlfluff). -#}
{%- if funnels is string %}{% set funnels = fromjson(funnels) %}{% endif -%}

{#- Per funnel, the first period to recompute (NULL when no batch is unconsumed: nothing is recomputed). -#}
{%- set recompute_from = [] -%}
{%- if is_incremental() -%}
    {%- set earliest_change -%}
        (
            select min(rewritten.event_at)
            from {{ ref('int_events_sessionized') }} as rewritten
            where rewritten.sessionized_through > {{ consumed_batches('fct_funnel_conversion') }}
        )
    {%- endset -%}
    {%- for funnel in funnels -%}
        {%- set window_start = dbt.dateadd('second', -(funnel.conversion_window_seconds | int) - 1, earliest_change) -%}
        {%- do recompute_from.append('cast(' ~ dbt.date_trunc(funnel.period, window_start) ~ ' as date)') -%}
    {%- endfor -%}
{%- endif -%}

{%- if funnels | length == 0 %}

    -- No funnel configured: an empty table with the contracted columns.
    select
        cast(null as {{ dbt.type_string() }}) as funnel_step_id,
        cast(null as {{ dbt.type_string() }}) as funnel_name,
        cast(null as {{ dbt.type_string() }}) as entry_mode,
        cast(null as bigint) as conversion_window_seconds,
        cast(null as {{ dbt.type_string() }}) as period_grain,
        cast(null as date) as period_start,
        cast(null as {{ dbt.type_string() }}) as breakdown_property,
        cast(null as {{ dbt.type_string() }}) as breakdown_value,
        cast(null as integer) as step_index,
        cast(null as {{ dbt.type_string() }}) as step_event,
        cast(null as bigint) as users,
        cast(null as bigint) as users_at_previous_step,
        cast(null as bigint) as users_at_first_step,
        cast(null as double) as conversion_from_previous,
        cast(null as double) as conversion_from_first,
        cast(null as double) as median_seconds_from_previous,
        cast(null as double) as median_seconds_from_first
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
        {% if recompute_from -%}
            -- Paths move forward from their start: the earliest recomputed period's events and later suffice.
            where sessionized.event_at >= {{ recompute_from | first if recompute_from | length == 1
                else 'least(' ~ recompute_from | join(', ') ~ ')' }}
        {%- endif %}

    ),

    {% for funnel in funnels %}
        {%- set prefix = 'funnel_' ~ loop.index -%}
        {%- set step_count = funnel.steps | length %}

        {{ prefix }}_step_events as (

            {% for step in funnel.steps -%}
                select
                    events.user_key,
                    events.event_id,
                    events.event_at,
                    {{ loop.index }} as step_index,
                    {% if loop.first and funnel.breakdown_property -%}
                        coalesce(
                            cast({{ event_property(funnel.breakdown_property, 'events') }} as {{ dbt.type_string() }}),
                            '(none)'
                        )
                    {%- else -%}
                        cast(null as {{ dbt.type_string() }})
                    {%- endif %} as breakdown_value
                from events
                where {{ funnel_step_condition(step, 'events') }}
                {% if not loop.last %}union all{% endif %}
            {% endfor %}

        ),

        {{ prefix }}_paths as (

            {{ funnel_paths(funnel, prefix ~ '_step_events') }}

        ),

        {{ prefix }}_reported_paths as (

            select ranked_paths.*
            from (
                select
                    {{ prefix }}_paths.*,
                    row_number() over (
                        partition by {{ prefix }}_paths.user_key, {{ prefix }}_paths.period_start
                        order by
                            {{ prefix }}_paths.depth desc,
                            {{ prefix }}_paths.step_1_at asc,
                            {{ prefix }}_paths.start_event_id asc
                    ) as path_rank
                from {{ prefix }}_paths
            ) as ranked_paths
            where
                ranked_paths.path_rank = 1
            {% if recompute_from -%}
                and ranked_paths.period_start >= {{ recompute_from[loop.index0] }}
            {%- endif %}

        ),

        {{ prefix }}_path_steps as (

            {% for step_index in range(1, step_count + 1) -%}
                select
                    {{ prefix }}_reported_paths.period_start,
                    {{ prefix }}_reported_paths.breakdown_value,
                    {{ step_index }} as step_index,
                    {% if step_index == 1 -%}
                        cast(null as double) as seconds_from_previous,
                        cast(null as double) as seconds_from_first
                    {%- else -%}
                        {{ seconds_between(
                            prefix ~ '_reported_paths.step_' ~ (step_index - 1) ~ '_at',
                            prefix ~ '_reported_paths.step_' ~ step_index ~ '_at'
                        ) }} as seconds_from_previous,
                        {{ seconds_between(
                            prefix ~ '_reported_paths.step_1_at',
                            prefix ~ '_reported_paths.step_' ~ step_index ~ '_at'
                        ) }} as seconds_from_first
                    {%- endif %}
                from {{ prefix }}_reported_paths
                where {{ prefix }}_reported_paths.depth >= {{ step_index }}
                {% if not loop.last %}union all{% endif %}
            {% endfor %}

        ),

        {{ prefix }}_grouped_path_steps as (

            select
                {{ prefix }}_path_steps.period_start,
                '(all)' as breakdown_value,
                {{ prefix }}_path_steps.step_index,
                {{ prefix }}_path_steps.seconds_from_previous,
                {{ prefix }}_path_steps.seconds_from_first
            from {{ prefix }}_path_steps
            {%- if funnel.breakdown_property %}

                union all

                select
                    {{ prefix }}_path_steps.period_start,
                    {{ prefix }}_path_steps.breakdown_value,
                    {{ prefix }}_path_steps.step_index,
                    {{ prefix }}_path_steps.seconds_from_previous,
                    {{ prefix }}_path_steps.seconds_from_first
                from {{ prefix }}_path_steps
            {%- endif %}

        ),

        {{ prefix }}_step_stats as (

            select
                {{ prefix }}_grouped_path_steps.period_start,
                {{ prefix }}_grouped_path_steps.breakdown_value,
                {{ prefix }}_grouped_path_steps.step_index,
                count(*) as users,
                {{ median(prefix ~ '_grouped_path_steps.seconds_from_previous') }} as median_seconds_from_previous,
                {{ median(prefix ~ '_grouped_path_steps.seconds_from_first') }} as median_seconds_from_first
            from {{ prefix }}_grouped_path_steps
            group by
                {{ prefix }}_grouped_path_steps.period_start,
                {{ prefix }}_grouped_path_steps.breakdown_value,
                {{ prefix }}_grouped_path_steps.step_index

        ),

        {{ prefix }}_steps as (

            {% for step in funnel.steps -%}
                select
                    {{ loop.index }} as step_index,
                    {{ sql_string_literal(step.event) }} as step_event
                {% if not loop.last %}union all{% endif %}
            {% endfor %}

        ),

        -- Every step for every (period, breakdown value) with at least one path, so a step nobody reached
        -- still shows 0 users.
        {{ prefix }}_rows as (

            select
                {{ sql_string_literal(funnel.name) }} as funnel_name,
                {{ sql_string_literal(funnel.entry_mode) }} as entry_mode,
                {{ funnel.conversion_window_seconds | int }} as conversion_window_seconds,
                {{ sql_string_literal(funnel.period) }} as period_grain,
                {% if funnel.breakdown_property -%}
                    {{ sql_string_literal(funnel.breakdown_property) }}
                {%- else -%}
                    cast(null as {{ dbt.type_string() }})
                {%- endif %} as breakdown_property,
                path_groups.period_start,
                path_groups.breakdown_value,
                {{ prefix }}_steps.step_index,
                {{ prefix }}_steps.step_event,
                coalesce({{ prefix }}_step_stats.users, 0) as users,
                {{ prefix }}_step_stats.median_seconds_from_previous,
                {{ prefix }}_step_stats.median_seconds_from_first
            from (
                select
                    {{ prefix }}_step_stats.period_start,
                    {{ prefix }}_step_stats.breakdown_value
                from {{ prefix }}_step_stats
                where {{ prefix }}_step_stats.step_index = 1
            ) as path_groups
            cross join {{ prefix }}_steps
            left join {{ prefix }}_step_stats
                on
                    path_groups.period_start = {{ prefix }}_step_stats.period_start
                    and path_groups.breakdown_value = {{ prefix }}_step_stats.breakdown_value
                    and {{ prefix }}_steps.step_index = {{ prefix }}_step_stats.step_index

        ),

    {% endfor %}

    all_funnel_rows as (

        {% for funnel in funnels -%}
            select * from funnel_{{ loop.index }}_rows
            {% if not loop.last %}union all{% endif %}
        {% endfor %}

    ),

    with_reference_counts as (

        select
            all_funnel_rows.*,
            coalesce(
                lag(all_funnel_rows.users) over (
                    partition by
                        all_funnel_rows.funnel_name,
                        all_funnel_rows.period_start,
                        all_funnel_rows.breakdown_value
                    order by all_funnel_rows.step_index
                ),
                all_funnel_rows.users
            ) as users_at_previous_step,
            max(case when all_funnel_rows.step_index = 1 then all_funnel_rows.users end) over (
                partition by
                    all_funnel_rows.funnel_name,
                    all_funnel_rows.period_start,
                    all_funnel_rows.breakdown_value
            ) as users_at_first_step
        from all_funnel_rows

    )

    select
        cast({{ surrogate_key([
            'with_reference_counts.funnel_name',
            'with_reference_counts.period_start',
            'with_reference_counts.breakdown_value',
            'with_reference_counts.step_index'
        ]) }} as {{ dbt.type_string() }}) as funnel_step_id,
        cast(with_reference_counts.funnel_name as {{ dbt.type_string() }}) as funnel_name,
        cast(with_reference_counts.entry_mode as {{ dbt.type_string() }}) as entry_mode,
        cast(with_reference_counts.conversion_window_seconds as bigint) as conversion_window_seconds,
        cast(with_reference_counts.period_grain as {{ dbt.type_string() }}) as period_grain,
        cast(with_reference_counts.period_start as date) as period_start,
        cast(with_reference_counts.breakdown_property as {{ dbt.type_string() }}) as breakdown_property,
        cast(with_reference_counts.breakdown_value as {{ dbt.type_string() }}) as breakdown_value,
        cast(with_reference_counts.step_index as integer) as step_index,
        cast(with_reference_counts.step_event as {{ dbt.type_string() }}) as step_event,
        cast(with_reference_counts.users as bigint) as users,
        cast(with_reference_counts.users_at_previous_step as bigint) as users_at_previous_step,
        cast(with_reference_counts.users_at_first_step as bigint) as users_at_first_step,
        cast(
            case
                when with_reference_counts.users_at_previous_step > 0
                    then cast(with_reference_counts.users as double) / with_reference_counts.users_at_previous_step
            end as double
        ) as conversion_from_previous,
        cast(
            cast(with_reference_counts.users as double) / with_reference_counts.users_at_first_step as double
        ) as conversion_from_first,
        cast(with_reference_counts.median_seconds_from_previous as double) as median_seconds_from_previous,
        cast(with_reference_counts.median_seconds_from_first as double) as median_seconds_from_first
    from with_reference_counts

{%- endif %}
