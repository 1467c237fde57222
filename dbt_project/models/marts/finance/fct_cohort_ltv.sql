{#-
    Cohort lifetime value: one row per acquisition cohort month, channel and month since acquisition (0 = the
    cohort month), from month 0 to the as-of month (int_finance_months_spined), so every cohort has an unbroken curve.

    customers: the cohort's size (fct_customer_acquisition), fixed over its curve. revenue, refunds and
    net_revenue: the cohort's customers' revenue in that calendar month (int_customer_revenue_monthly: paid
    invoices excluding tax, less refunds in the month they were issued). cumulative_gross_margin_per_customer =
    cumulative net revenue x var('gross_margin') / customers: the realised CLV curve, in the reporting currency.
-#}
{%- set gross_margin = "cast(" ~ sql_string_literal(var('gross_margin')) ~ " as decimal(9, 4))" %}

with cohorts as (

    select
        acquisitions.cohort_month,
        acquisitions.channel,
        count(*) as customers
    from {{ ref('fct_customer_acquisition') }} as acquisitions
    group by acquisitions.cohort_month, acquisitions.channel

),

cohort_revenue as (

    select
        acquisitions.cohort_month,
        acquisitions.channel,
        revenue.revenue_month,
        sum(revenue.revenue) as revenue,
        sum(revenue.refunds) as refunds,
        sum(revenue.net_revenue) as net_revenue
    from {{ ref('fct_customer_acquisition') }} as acquisitions
    inner join {{ ref('int_customer_revenue_monthly') }} as revenue
        on acquisitions.customer_id = revenue.customer_id
    group by acquisitions.cohort_month, acquisitions.channel, revenue.revenue_month

),

curve as (

    select
        cohorts.cohort_month,
        cohorts.channel,
        months.month_start as calendar_month,
        {{ dbt.datediff(
            'cohorts.cohort_month',
            'months.month_start',
            'month'
        ) }} as months_since_acquisition,
        cohorts.customers,
        coalesce(cohort_revenue.revenue, 0) as revenue,
        coalesce(cohort_revenue.refunds, 0) as refunds,
        coalesce(cohort_revenue.net_revenue, 0) as net_revenue
    from cohorts
    inner join {{ ref('int_finance_months_spined') }} as months
        on cohorts.cohort_month <= months.month_start
    left join cohort_revenue
        on
            cohorts.cohort_month = cohort_revenue.cohort_month
            and cohorts.channel = cohort_revenue.channel
            and months.month_start = cohort_revenue.revenue_month

),

cumulative as (

    select
        curve.*,
        sum(curve.net_revenue) over (
            partition by curve.cohort_month, curve.channel
            order by curve.months_since_acquisition
            rows between unbounded preceding and current row
        ) as cumulative_net_revenue
    from curve

)

select
    cast(
        {{ surrogate_key(['cumulative.cohort_month', 'cumulative.channel', 'cumulative.months_since_acquisition']) }}
        as {{ dbt.type_string() }}
    ) as cohort_ltv_id,
    cast(cumulative.cohort_month as date) as cohort_month,
    cast(cumulative.channel as {{ dbt.type_string() }}) as channel,
    cast(cumulative.months_since_acquisition as integer) as months_since_acquisition,
    cast(cumulative.calendar_month as date) as calendar_month,
    cast(cumulative.customers as bigint) as customers,
    cast(cumulative.revenue as decimal(18, 4)) as revenue,
    cast(cumulative.refunds as decimal(18, 4)) as refunds,
    cast(cumulative.net_revenue as decimal(18, 4)) as net_revenue,
    cast(cumulative.cumulative_net_revenue as decimal(18, 4)) as cumulative_net_revenue,
    {{ gross_margin }} as gross_margin,
    cast(cumulative.cumulative_net_revenue * {{ gross_margin }} as decimal(18, 4)) as cumulative_gross_margin,
    cast(
        {{ divide_decimal('cumulative.cumulative_net_revenue * ' ~ gross_margin, 'cumulative.customers') }}
        as decimal(18, 4)
    ) as cumulative_gross_margin_per_customer,
    cast({{ sql_string_literal(var('reporting_currency') | upper) }} as {{ dbt.type_string() }}) as reporting_currency
from cumulative
