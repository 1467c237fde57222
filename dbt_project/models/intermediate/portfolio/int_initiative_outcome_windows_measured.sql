{#-
    The target metric of every shipped initiative of var('initiatives'), measured per unit in the window before
    ([shipped_at - W, shipped_at)) and after ([shipped_at, shipped_at + W)) its ship instant, then summarised
    per (initiative, window side).
    The full reasoning is the docs block int_initiative_outcome_windows_measured in portfolio/_portfolio__docs.md.
-#}
{%- set initiatives = var('initiatives') -%}
{%- if initiatives is string %}{% set initiatives = fromjson(initiatives) %}{% endif -%}
{%- set funnels = var('funnels') -%}
{%- if funnels is string %}{% set funnels = fromjson(funnels) %}{% endif -%}
{%- set retentions = var('retention') -%}
{%- if retentions is string %}{% set retentions = fromjson(retentions) %}{% endif -%}
{%- set measured = initiatives | selectattr('target_metric') | list -%}

with windows as (

    select
        defined.initiative_key,
        defined.target_metric_type,
        defined.shipped_at as after_window_start,
        defined.before_window_start,
        defined.after_window_end
    from {{ ref('int_initiative_windows_defined') }} as defined
    where defined.is_shipped and defined.target_metric_type is not null

),

sides as (

    select
        'before' as window_side,
        windows.initiative_key,
        windows.before_window_start as window_start,
        windows.after_window_start as window_end
    from windows

    union all

    select
        'after' as window_side,
        windows.initiative_key,
        windows.after_window_start as window_start,
        windows.after_window_end as window_end
    from windows

),

events as {{ inlined_cte() }} (

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

{% for initiative in measured %}
    {%- set prefix = 'initiative_' ~ loop.index -%}
    {%- set target = initiative.target_metric -%}
    {%- set key_sql = sql_string_literal(initiative.key) -%}

    {{ prefix }}_sides as (

        select sides.*
        from sides
        where sides.initiative_key = {{ key_sql }}

    ),

    {% if target.type == 'funnel_step' -%}
        {%- set source_funnel = (funnels | selectattr('name', 'equalto', target.funnel) | list)[0] -%}
        {#- The funnel up to the target step, one entry per user and window side. -#}
        {%- set funnel = {} -%}
        {%- do funnel.update(source_funnel) -%}
        {%- do funnel.update({'entry_mode': 'first_entry', 'steps': source_funnel.steps[:target.step]}) %}

        {{ prefix }}_step_events as (

            {% for step in funnel.steps -%}
                select
                    events.user_key,
                    events.event_id,
                    events.event_at,
                    {{ loop.index }} as step_index,
                    cast(null as {{ dbt.type_string() }}) as breakdown_value,
                    {% if loop.first -%}
                        {{ prefix }}_sides.window_side
                    {%- else -%}
                        cast(null as {{ dbt.type_string() }})
                    {%- endif %} as window_side
                from events
                {% if loop.first -%}
                    inner join {{ prefix }}_sides
                        on
                            events.event_at >= {{ prefix }}_sides.window_start
                            and events.event_at < {{ prefix }}_sides.window_end
                {%- endif %}
                where {{ funnel_step_condition(step, 'events') }}
                {% if not loop.last %}union all{% endif %}
            {% endfor %}

        ),

        {{ prefix }}_paths as (

            {{ funnel_paths(funnel, prefix ~ '_step_events', 'window_side') }}

        ),

        {{ prefix }}_units as (

            select
                {{ prefix }}_paths.period_start as window_side,
                {{ prefix }}_paths.user_key as unit_key,
                case when {{ prefix }}_paths.depth >= {{ target.step | int }} then 1.0 else 0.0 end as outcome
            from {{ prefix }}_paths

        ),

    {%- elif target.type == 'retention' -%}
        {%- set retention = (retentions | selectattr('name', 'equalto', target.retention) | list)[0] %}

        {{ prefix }}_cohorts as (

            select
                {{ prefix }}_sides.window_side,
                first_starts.user_key,
                first_starts.cohort_event_at
            from (
                select
                    events.user_key,
                    min(events.event_at) as cohort_event_at
                from events
                where events.event_name = {{ sql_string_literal(retention.start_event) }}
                group by events.user_key
            ) as first_starts
            inner join {{ prefix }}_sides
                on
                    first_starts.cohort_event_at >= {{ prefix }}_sides.window_start
                    and first_starts.cohort_event_at < {{ prefix }}_sides.window_end

        ),

        {{ prefix }}_returns as (

            select distinct {{ prefix }}_cohorts.user_key
            from {{ prefix }}_cohorts
            inner join events
                on
                    {{ prefix }}_cohorts.user_key = events.user_key
                    and events.event_name = {{ sql_string_literal(retention.return_event) }}
                    and events.event_at > {{ prefix }}_cohorts.cohort_event_at
            where
                {% if retention.period == 'day' -%}
                    {{ dbt.datediff(
                        'cast(' ~ prefix ~ '_cohorts.cohort_event_at as date)', 'cast(events.event_at as date)', 'day'
                    ) }}
                {%- else -%}
                    cast({{ dbt.datediff(
                        'cast(' ~ dbt.date_trunc('week', prefix ~ '_cohorts.cohort_event_at') ~ ' as date)',
                        'cast(' ~ dbt.date_trunc('week', 'events.event_at') ~ ' as date)',
                        'day'
                    ) }} / 7 as integer)
                {%- endif %} = {{ target.period | int }}

        ),

        {{ prefix }}_units as (

            select
                {{ prefix }}_cohorts.window_side,
                {{ prefix }}_cohorts.user_key as unit_key,
                case when {{ prefix }}_returns.user_key is not null then 1.0 else 0.0 end as outcome
            from {{ prefix }}_cohorts
            left join {{ prefix }}_returns
                on {{ prefix }}_cohorts.user_key = {{ prefix }}_returns.user_key

        ),

    {%- elif target.type == 'nps' %}

        {{ prefix }}_units as (

            select
                {{ prefix }}_sides.window_side,
                responses.survey_response_id as unit_key,
                case
                    when responses.score >= 9 then 1.0
                    when responses.score <= 6 then -1.0
                    else 0.0
                end as outcome
            from {{ ref('stg_feedback__survey_responses') }} as responses
            inner join {{ prefix }}_sides
                on
                    responses.responded_at >= {{ prefix }}_sides.window_start
                    and responses.responded_at < {{ prefix }}_sides.window_end
            where responses.survey_type = 'nps' and responses.score is not null

        ),

    {%- elif target.type == 'revenue' %}

        {{ prefix }}_movements as (

            select
                {{ prefix }}_sides.window_side,
                invoices.customer_id,
                {{ to_reporting_currency('invoices.total_minor - invoices.tax_minor', 'invoices.currency') }}
                    as amount,
                1 as is_payment
            from {{ ref('stg_billing__invoices') }} as invoices
            inner join {{ prefix }}_sides
                on
                    coalesce(invoices.paid_at, invoices.created_at) >= {{ prefix }}_sides.window_start
                    and coalesce(invoices.paid_at, invoices.created_at) < {{ prefix }}_sides.window_end
            where invoices.status = 'paid'

            union all

            select
                {{ prefix }}_sides.window_side,
                refunds.customer_id,
                -1 * {{ to_reporting_currency('refunds.amount_minor', 'refunds.currency') }} as amount,
                0 as is_payment
            from {{ ref('stg_billing__refunds') }} as refunds
            inner join {{ prefix }}_sides
                on
                    refunds.created_at >= {{ prefix }}_sides.window_start
                    and refunds.created_at < {{ prefix }}_sides.window_end
            where refunds.is_effective and refunds.customer_id is not null

        ),

        {{ prefix }}_units as (

            select
                {{ prefix }}_movements.window_side,
                {{ prefix }}_movements.customer_id as unit_key,
                cast(sum({{ prefix }}_movements.amount) as double) as outcome
            from {{ prefix }}_movements
            group by {{ prefix }}_movements.window_side, {{ prefix }}_movements.customer_id
            having max({{ prefix }}_movements.is_payment) = 1

        ),

    {%- endif %}

    {{ prefix }}_summary as (

        select
            {{ key_sql }} as initiative_key,
            {{ prefix }}_units.window_side,
            count(*) as sample_size,
            sum(case when {{ prefix }}_units.outcome = 1 then 1 else 0 end) as successes,
            -- A double before averaging: Spark's avg of the decimal(2,1) outcomes is a decimal(6,5), rounded to 5
            -- decimals. DuckDB averages a decimal into a double already, bit for bit the same for these 0/1/-1 values.
            avg(cast({{ prefix }}_units.outcome as double)) as mean_outcome,
            var_pop({{ prefix }}_units.outcome) as variance_population,
            var_samp({{ prefix }}_units.outcome) as variance_sample
        from {{ prefix }}_units
        group by {{ prefix }}_units.window_side

    ),

{% endfor %}

summaries as (

    {% for initiative in measured -%}
        select * from initiative_{{ loop.index }}_summary
        union all
    {% endfor -%}
    select
        cast(null as {{ dbt.type_string() }}) as initiative_key,
        cast(null as {{ dbt.type_string() }}) as window_side,
        cast(null as bigint) as sample_size,
        cast(null as bigint) as successes,
        cast(null as double) as mean_outcome,
        cast(null as double) as variance_population,
        cast(null as double) as variance_sample
    where 1 = 0

)

select
    {{ surrogate_key(['sides.initiative_key', 'sides.window_side']) }} as initiative_window_id,
    sides.initiative_key,
    sides.window_side,
    windows.target_metric_type,
    sides.window_start,
    sides.window_end,
    cast(coalesce(summaries.sample_size, 0) as bigint) as sample_size,
    cast(
        case
            when windows.target_metric_type in ('funnel_step', 'retention')
                then coalesce(summaries.successes, 0)
        end
        as bigint
    ) as successes,
    cast(summaries.mean_outcome as double) as mean_outcome,
    cast(summaries.variance_population as double) as variance_population,
    cast(summaries.variance_sample as double) as variance_sample
from sides
inner join windows
    on sides.initiative_key = windows.initiative_key
left join summaries
    on
        sides.initiative_key = summaries.initiative_key
        and sides.window_side = summaries.window_side
