{#-
    MRR per customer and month, with its movement, plus the month's revenue and refunds: int_customer_mrr_monthly
    (exact) published. Each customer's month-end MRR is rounded once, here, to 4 decimals (half away from zero); the
    bridge columns (mrr_change and the movement amounts) are differences of those published amounts, exact, so the
    MRR waterfall reconciles to the ten-thousandth (the fct_mrr gate's movements_add_up_to_the_change). Marts that
    sum or divide MRR (fct_unit_economics) read the exact amounts from int_customer_mrr_monthly, not these.
    The full reasoning is the docs block fct_mrr in finance/_finance__docs.md.
-#}

with published as (

    select
        customer_mrr.*,
        cast(customer_mrr.mrr as decimal(18, 4)) as published_mrr,
        cast(customer_mrr.previous_mrr as decimal(18, 4)) as published_previous_mrr
    from {{ ref('int_customer_mrr_monthly') }} as customer_mrr

)

select
    cast(published.customer_month_id as {{ dbt.type_string() }}) as customer_month_id,
    cast(published.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(published.month_start as date) as month_start,
    published.published_mrr as mrr,
    published.published_previous_mrr as previous_mrr,
    cast(published.published_mrr - published.published_previous_mrr as decimal(18, 4)) as mrr_change,
    cast(published.movement as {{ dbt.type_string() }}) as movement,
    cast(
        case when published.movement = 'new' then published.published_mrr else 0 end as decimal(18, 4)
    ) as new_mrr,
    cast(
        case
            when published.movement = 'expansion' then published.published_mrr - published.published_previous_mrr
            else 0
        end as decimal(18, 4)
    ) as expansion_mrr,
    cast(
        case
            when published.movement = 'contraction' then published.published_mrr - published.published_previous_mrr
            else 0
        end as decimal(18, 4)
    ) as contraction_mrr,
    cast(
        case when published.movement = 'churn' then -published.published_previous_mrr else 0 end as decimal(18, 4)
    ) as churned_mrr,
    cast(
        case when published.movement = 'reactivation' then published.published_mrr else 0 end as decimal(18, 4)
    ) as reactivation_mrr,
    cast(published.active_subscriptions as bigint) as active_subscriptions,
    cast(published.revenue as decimal(18, 4)) as revenue,
    cast(published.refunds as decimal(18, 4)) as refunds,
    cast(published.net_revenue as decimal(18, 4)) as net_revenue,
    cast({{ sql_string_literal(var('reporting_currency') | upper) }} as {{ dbt.type_string() }}) as reporting_currency
from published
