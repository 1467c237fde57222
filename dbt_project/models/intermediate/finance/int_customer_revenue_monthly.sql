{#-
    Revenue per customer and calendar month, in the reporting currency: what revenue marts report next to MRR.
    - revenue: paid invoices in the month they were paid, net of discounts and excluding tax (total - tax), one-off
      and prorated charges included.
    - refunds: refunds and credit notes in force, in the month they were issued (a refund reverses revenue in the
      month it happened, never the month of the refunded invoice: closed months stay closed). The whole refunded
      amount counts (its tax share is not separated).
    - net_revenue = revenue - refunds (may be negative in a month with a refund and no payment).
-#}

with paid_invoices as (

    select
        invoices.customer_id,
        {{ month_start('coalesce(invoices.paid_at, invoices.created_at)') }} as revenue_month,
        {{ to_reporting_currency('invoices.total_minor - invoices.tax_minor', 'invoices.currency') }} as revenue,
        cast(0 as decimal(38, 10)) as refunds
    from {{ ref('stg_billing__invoices') }} as invoices
    where invoices.status = 'paid'

),

effective_refunds as (

    select
        refunds.customer_id,
        {{ month_start('refunds.created_at') }} as revenue_month,
        cast(0 as decimal(38, 10)) as revenue,
        {{ to_reporting_currency('refunds.amount_minor', 'refunds.currency') }} as refunds
    from {{ ref('stg_billing__refunds') }} as refunds
    where refunds.is_effective and refunds.customer_id is not null

),

movements as (

    select * from paid_invoices
    union all
    select * from effective_refunds

)

select
    {{ surrogate_key(['movements.customer_id', 'movements.revenue_month']) }} as customer_month_id,
    movements.customer_id,
    movements.revenue_month,
    cast(sum(movements.revenue) as decimal(38, 10)) as revenue,
    cast(sum(movements.refunds) as decimal(38, 10)) as refunds,
    cast(sum(movements.revenue) - sum(movements.refunds) as decimal(38, 10)) as net_revenue
from movements
group by movements.customer_id, movements.revenue_month
