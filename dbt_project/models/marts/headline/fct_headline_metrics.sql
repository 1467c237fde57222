{#-
    The headline numbers in one long shape, one row per (metric, period, analysis, channel, cohort period):
    what publish/restatements.py snapshots per release and compares with the release BI read before.

    Closed period: a value is closed when every source row that can change it is older than its sources' as-of
    day, the newest day any row of the source has (that day may still be filling): inputs_until <= data_as_of.
    inputs_until is the end of the period plus what else feeds it (a funnel's conversion window after the period;
    the whole period N of a retention cohort's latest member, where the mart's own is_complete rule decides).
    inputs_from is where the feeding rows begin (NULL: all history, e.g. MRR from every subscription so far);
    publish matches landed files to a restated value by source and by this range.
-#}

with as_of_analytics as (

    select cast(max(events.event_at) as date) as as_of_day
    from {{ ref('int_events_sessionized') }} as events

),

as_of_feedback as (

    select cast(max(responses.responded_at) as date) as as_of_day
    from {{ ref('stg_feedback__survey_responses') }} as responses

),

as_of_billing as (

    select cast(max(invoices.created_at) as date) as as_of_day
    from {{ ref('stg_billing__invoices') }} as invoices

),

as_of_marketing as (

    select max(spend.spend_date) as as_of_day
    from {{ ref('stg_marketing__spend') }} as spend

),

active_users as (

    {% for metric, days in [('dau', 1), ('wau', 7), ('mau', 28)] -%}
        select
            '{{ metric }}' as metric,
            'day' as grain,
            active.activity_date as period_start,
            cast({{ dbt.dateadd('day', 1, 'active.activity_date') }} as date) as period_end,
            '(all)' as analysis,
            '(all)' as channel,
            cast(null as integer) as cohort_period,
            cast(active.{{ metric }} as double) as value,
            'users' as unit,
            'analytics' as feeding_sources,
            cast({{ dbt.dateadd('day', 1 - days, 'active.activity_date') }} as date) as inputs_from,
            cast({{ dbt.dateadd('day', 1, 'active.activity_date') }} as date) as inputs_until,
            (select as_of_analytics.as_of_day from as_of_analytics) as data_as_of,
            cast(null as boolean) as closed_by_mart
        from {{ ref('fct_active_users') }} as active
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

funnel_last_steps as (

    select
        funnels.funnel_name,
        max(funnels.step_index) as last_step_index
    from {{ ref('fct_funnel_conversion') }} as funnels
    group by funnels.funnel_name

),

funnel_periods as (

    select
        funnels.funnel_name,
        funnels.period_grain,
        funnels.period_start,
        case funnels.period_grain
            when 'day' then cast({{ dbt.dateadd('day', 1, 'funnels.period_start') }} as date)
            when 'week' then cast({{ dbt.dateadd('day', 7, 'funnels.period_start') }} as date)
            else cast({{ dbt.dateadd('month', 1, 'funnels.period_start') }} as date)
        end as period_end,
        funnels.conversion_window_seconds,
        funnels.conversion_from_first
    from {{ ref('fct_funnel_conversion') }} as funnels
    inner join funnel_last_steps
        on
            funnels.funnel_name = funnel_last_steps.funnel_name
            and funnels.step_index = funnel_last_steps.last_step_index
    where funnels.breakdown_value = '(all)'

),

funnel_conversion as (

    select
        'funnel_conversion' as metric,
        funnel_periods.period_grain as grain,
        funnel_periods.period_start,
        funnel_periods.period_end,
        funnel_periods.funnel_name as analysis,
        '(all)' as channel,
        cast(null as integer) as cohort_period,
        cast(funnel_periods.conversion_from_first as double) as value,
        'share' as unit,
        'analytics' as feeding_sources,
        funnel_periods.period_start as inputs_from,
        -- A path started on the period's last instant may finish one conversion window later (whole days, up).
        cast(
            {{ dbt.dateadd(
                'second',
                'funnel_periods.conversion_window_seconds + 86399',
                'funnel_periods.period_end'
            ) }} as date
        ) as inputs_until,
        (select as_of_analytics.as_of_day from as_of_analytics) as data_as_of,
        cast(null as boolean) as closed_by_mart
    from funnel_periods

),

retention as (

    select
        'retention' as metric,
        cohorts.period_grain as grain,
        cohorts.cohort_start as period_start,
        case cohorts.period_grain
            when 'day' then cast({{ dbt.dateadd('day', 1, 'cohorts.cohort_start') }} as date)
            else cast({{ dbt.dateadd('day', 7, 'cohorts.cohort_start') }} as date)
        end as period_end,
        cohorts.retention_name as analysis,
        '(all)' as channel,
        cast(cohorts.period_number as integer) as cohort_period,
        cast(cohorts.retention_on_period as double) as value,
        'share' as unit,
        'analytics' as feeding_sources,
        cohorts.cohort_start as inputs_from,
        -- Period N of the cohort's latest member ends N + 2 periods after the cohort's start.
        case cohorts.period_grain
            when 'day' then cast({{ dbt.dateadd('day', 'cohorts.period_number + 2', 'cohorts.cohort_start') }} as date)
            else cast({{ dbt.dateadd('day', '7 * (cohorts.period_number + 2)', 'cohorts.cohort_start') }} as date)
        end as inputs_until,
        (select as_of_analytics.as_of_day from as_of_analytics) as data_as_of,
        cohorts.is_complete as closed_by_mart
    from {{ ref('fct_retention_cohorts') }} as cohorts
    where cohorts.breakdown_value = '(all)'

),

surveys as (

    {% for metric, model, value in [('nps', 'fct_nps', 'nps'), ('csat', 'fct_csat', 'csat')] -%}
        select
            '{{ metric }}' as metric,
            'month' as grain,
            scores.period_start,
            cast({{ dbt.dateadd('month', 1, 'scores.period_start') }} as date) as period_end,
            '(all)' as analysis,
            '(all)' as channel,
            cast(null as integer) as cohort_period,
            cast(scores.{{ value }} as double) as value,
            '{{ "points" if metric == "nps" else "share" }}' as unit,
            'feedback' as feeding_sources,
            scores.period_start as inputs_from,
            cast({{ dbt.dateadd('month', 1, 'scores.period_start') }} as date) as inputs_until,
            (select as_of_feedback.as_of_day from as_of_feedback) as data_as_of,
            cast(null as boolean) as closed_by_mart
        from {{ ref(model) }} as scores
        where scores.segment_plan = '(all)' and scores.segment_platform = '(all)'
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

mrr_months as (

    select
        mrr.month_start,
        sum(mrr.mrr) as mrr,
        sum(mrr.refunds) as refunds,
        sum(mrr.net_revenue) as net_revenue
    from {{ ref('fct_mrr') }} as mrr
    group by mrr.month_start

),

revenue as (

    {% for metric in ['mrr', 'refunds', 'net_revenue'] -%}
        select
            '{{ metric }}' as metric,
            'month' as grain,
            mrr_months.month_start as period_start,
            cast({{ dbt.dateadd('month', 1, 'mrr_months.month_start') }} as date) as period_end,
            '(all)' as analysis,
            '(all)' as channel,
            cast(null as integer) as cohort_period,
            cast(mrr_months.{{ metric }} as double) as value,
            'currency' as unit,
            'billing' as feeding_sources,
            -- MRR at a month's end depends on every subscription so far; refunds and revenue on the month's own.
            {% if metric == 'mrr' %}cast(null as date){% else %}mrr_months.month_start{% endif %} as inputs_from,
            cast({{ dbt.dateadd('month', 1, 'mrr_months.month_start') }} as date) as inputs_until,
            (select as_of_billing.as_of_day from as_of_billing) as data_as_of,
            cast(null as boolean) as closed_by_mart
        from mrr_months
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

acquisition as (

    {% for metric, column, sources in [
        ('new_customers', 'new_paying_customers', 'analytics,billing'),
        ('cac', 'cac', 'analytics,billing,marketing'),
    ] -%}
        select
            '{{ metric }}' as metric,
            'month' as grain,
            costs.month_start as period_start,
            cast({{ dbt.dateadd('month', 1, 'costs.month_start') }} as date) as period_end,
            '(all)' as analysis,
            case when costs.is_blended then '(all)' else costs.channel end as channel,
            cast(null as integer) as cohort_period,
            cast(costs.{{ column }} as double) as value,
            '{{ "customers" if metric == "new_customers" else "currency" }}' as unit,
            '{{ sources }}' as feeding_sources,
            -- The channel may come from any earlier analytics event (first-touch UTM): all history.
            cast(null as date) as inputs_from,
            cast({{ dbt.dateadd('month', 1, 'costs.month_start') }} as date) as inputs_until,
            {% if metric == 'cac' -%}
                least(
                    (select as_of_analytics.as_of_day from as_of_analytics),
                    (select as_of_billing.as_of_day from as_of_billing),
                    (select as_of_marketing.as_of_day from as_of_marketing)
                )
            {%- else -%}
                least(
                    (select as_of_analytics.as_of_day from as_of_analytics),
                    (select as_of_billing.as_of_day from as_of_billing)
                )
            {%- endif %} as data_as_of,
            cast(null as boolean) as closed_by_mart
        from {{ ref('fct_cac') }} as costs
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

all_metrics as (

    select * from active_users
    union all
    select * from funnel_conversion
    union all
    select * from retention
    union all
    select * from surveys
    union all
    select * from revenue
    union all
    select * from acquisition

)

select
    cast(
        {{ surrogate_key([
            'all_metrics.metric',
            'all_metrics.grain',
            'all_metrics.period_start',
            'all_metrics.analysis',
            'all_metrics.channel',
            'all_metrics.cohort_period',
        ]) }} as {{ dbt.type_string() }}
    ) as headline_metric_id,
    cast(all_metrics.metric as {{ dbt.type_string() }}) as metric,
    cast(all_metrics.grain as {{ dbt.type_string() }}) as grain,
    cast(all_metrics.period_start as date) as period_start,
    cast(all_metrics.period_end as date) as period_end,
    cast(all_metrics.analysis as {{ dbt.type_string() }}) as analysis,
    cast(all_metrics.channel as {{ dbt.type_string() }}) as channel,
    cast(all_metrics.cohort_period as integer) as cohort_period,
    cast(all_metrics.value as double) as value,
    cast(all_metrics.unit as {{ dbt.type_string() }}) as unit,
    cast(all_metrics.feeding_sources as {{ dbt.type_string() }}) as feeding_sources,
    cast(all_metrics.inputs_from as date) as inputs_from,
    cast(all_metrics.inputs_until as date) as inputs_until,
    cast(all_metrics.data_as_of as date) as data_as_of,
    cast(
        coalesce(
            all_metrics.closed_by_mart,
            all_metrics.data_as_of is not null and all_metrics.inputs_until <= all_metrics.data_as_of
        ) as boolean
    ) as is_closed
from all_metrics
