{#-
    MRR per customer and month with its movement, plus the month's revenue and refunds: unrounded
    (DECIMAL(38, 10)). fct_mrr publishes these rounded once; fct_unit_economics sums and divides these, so no
    derived metric starts from a rounded per-customer MRR, and movements compare exact amounts.
    The full reasoning is the docs block fct_mrr in finance/_finance__docs.md.
-#}

with months as (

    select * from {{ ref('int_finance_months_spined') }}

),

segments as (

    select * from {{ ref('int_subscription_mrr_segments') }}

),

revenue as (

    select * from {{ ref('int_customer_revenue_monthly') }}

),

subscription_month_ends as (

    -- Each subscription's segment in force at the month's end: the latest one started by then and not yet over.
    select
        segments.customer_id,
        months.month_start,
        segments.subscription_id,
        segments.monthly_rate,
        row_number() over (
            partition by segments.subscription_id, months.month_start
            order by segments.segment_start desc, segments.is_proration desc, segments.segment_id desc
        ) as segment_rank
    from segments
    inner join months
        on
            segments.segment_start < months.next_month_start
            and segments.segment_end >= months.next_month_start

),

customer_mrr as (

    select
        subscription_month_ends.customer_id,
        subscription_month_ends.month_start,
        sum(subscription_month_ends.monthly_rate) as mrr,
        count(*) as active_subscriptions
    from subscription_month_ends
    where subscription_month_ends.segment_rank = 1 and subscription_month_ends.monthly_rate > 0
    group by subscription_month_ends.customer_id, subscription_month_ends.month_start

),

customer_first_months as (

    select
        first_seen.customer_id,
        min(first_seen.first_month) as first_month
    from (
        select
            segments.customer_id,
            {{ month_start('segments.segment_start') }} as first_month
        from segments
        union all
        select
            revenue.customer_id,
            revenue.revenue_month as first_month
        from revenue
    ) as first_seen
    group by first_seen.customer_id

),

customer_months as (

    select
        customer_first_months.customer_id,
        months.month_start,
        cast(coalesce(customer_mrr.mrr, 0) as decimal(38, 10)) as mrr,
        coalesce(customer_mrr.active_subscriptions, 0) as active_subscriptions,
        coalesce(revenue.revenue, 0) as revenue,
        coalesce(revenue.refunds, 0) as refunds,
        coalesce(revenue.net_revenue, 0) as net_revenue
    from customer_first_months
    inner join months
        on customer_first_months.first_month <= months.month_start
    left join customer_mrr
        on
            customer_first_months.customer_id = customer_mrr.customer_id
            and months.month_start = customer_mrr.month_start
    left join revenue
        on
            customer_first_months.customer_id = revenue.customer_id
            and months.month_start = revenue.revenue_month

),

with_history as (

    select
        customer_months.*,
        coalesce(
            lag(customer_months.mrr) over (
                partition by customer_months.customer_id order by customer_months.month_start
            ),
            0
        ) as previous_mrr,
        coalesce(
            max(case when customer_months.mrr > 0 then 1 else 0 end) over (
                partition by customer_months.customer_id
                order by customer_months.month_start
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as had_mrr_before
    from customer_months

),

classified as (

    select
        with_history.*,
        case
            when with_history.previous_mrr = 0 and with_history.mrr > 0 and with_history.had_mrr_before = 0
                then 'new'
            when with_history.previous_mrr = 0 and with_history.mrr > 0 then 'reactivation'
            when with_history.previous_mrr > 0 and with_history.mrr = 0 then 'churn'
            when with_history.mrr > with_history.previous_mrr then 'expansion'
            when with_history.mrr < with_history.previous_mrr then 'contraction'
            else 'unchanged'
        end as movement
    from with_history

)

select
    {{ surrogate_key(['classified.customer_id', 'classified.month_start']) }} as customer_month_id,
    classified.customer_id,
    classified.month_start,
    classified.mrr,
    cast(classified.previous_mrr as decimal(38, 10)) as previous_mrr,
    classified.movement,
    classified.active_subscriptions,
    cast(classified.revenue as decimal(38, 10)) as revenue,
    cast(classified.refunds as decimal(38, 10)) as refunds,
    cast(classified.net_revenue as decimal(38, 10)) as net_revenue
from classified
where
    classified.mrr != 0
    or classified.previous_mrr != 0
    or classified.revenue != 0
    or classified.refunds != 0
