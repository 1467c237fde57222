{#-
    MRR rate segments: one row per recurring invoice line, the time span it bills and its monthly recurring rate
    in the reporting currency. fct_mrr reads each subscription's rate at every month end from the segment
    covering it.
    The full reasoning is the docs block int_subscription_mrr_segments in finance/_finance__docs.md.
-#}

with invoices as (

    select * from {{ ref('stg_billing__invoices') }}
    where status in ('paid', 'open')

),

subscriptions as (

    select * from {{ ref('stg_billing__subscriptions') }}

),

invoice_lines as (

    select * from {{ ref('stg_billing__invoice_lines') }}

),

billed_lines as (

    select
        invoice_lines.invoice_line_id,
        invoice_lines.invoice_id,
        invoice_lines.subscription_id,
        invoice_lines.plan_id,
        invoice_lines.plan_interval,
        invoice_lines.quantity,
        invoice_lines.is_proration,
        invoice_lines.amount_minor,
        invoice_lines.currency,
        invoice_lines.period_start,
        invoice_lines.period_end,
        false as is_lineless_plan_change
    from invoice_lines

    union all

    -- Invoices exported without their lines (the Stripe dashboard CSV): the invoice itself is one full-period
    -- line over its period. A plan-change invoice without lines cannot tell the new plan's rate: skipped, the old
    -- rate stands until the next renewal invoice.
    select
        'invoice:' || invoices.invoice_id as invoice_line_id,
        invoices.invoice_id,
        invoices.subscription_id,
        null as plan_id,
        null as plan_interval,
        1 as quantity,
        false as is_proration,
        invoices.subtotal_minor as amount_minor,
        invoices.currency,
        invoices.period_start,
        invoices.period_end,
        false as is_lineless_plan_change
    from invoices
    where
        coalesce(invoices.billing_reason, '') != 'subscription_update'
        and not exists (
            select 1 from invoice_lines
            where invoice_lines.invoice_id = invoices.invoice_id
        )

    union all

    -- A plan change exported without lines: a marker at the change (its period starts there), rated below from
    -- the next renewal of the same subscription.
    select
        'invoice:' || invoices.invoice_id as invoice_line_id,
        invoices.invoice_id,
        invoices.subscription_id,
        null as plan_id,
        null as plan_interval,
        1 as quantity,
        true as is_proration,
        invoices.subtotal_minor as amount_minor,
        invoices.currency,
        invoices.period_start,
        invoices.period_end,
        true as is_lineless_plan_change
    from invoices
    where
        invoices.billing_reason = 'subscription_update'
        and not exists (
            select 1 from invoice_lines
            where invoice_lines.invoice_id = invoices.invoice_id
        )

),

lines as (

    select
        invoice_lines.invoice_line_id,
        invoice_lines.invoice_id,
        invoice_lines.subscription_id,
        invoices.customer_id,
        invoice_lines.plan_id,
        invoice_lines.plan_interval,
        invoice_lines.quantity,
        invoice_lines.is_proration,
        invoice_lines.amount_minor,
        invoice_lines.currency,
        invoice_lines.period_start,
        invoice_lines.period_end,
        invoice_lines.is_lineless_plan_change,
        cast(invoice_lines.amount_minor as decimal(38, 10))
        - coalesce(
            {{ divide_decimal(
                'cast(invoices.discount_minor as decimal(38, 10)) * invoice_lines.amount_minor',
                'invoices.subtotal_minor'
            ) }},
            0
        ) as net_amount_minor,
        {{ dbt.datediff(
            'invoice_lines.period_start',
            'invoice_lines.period_end',
            'month'
        ) }} as period_months,
        {{ dbt.datediff(
            'invoice_lines.period_start',
            'invoice_lines.period_end',
            'day'
        ) }} as period_days
    from billed_lines as invoice_lines
    inner join invoices
        on invoice_lines.invoice_id = invoices.invoice_id
    where
        invoice_lines.subscription_id is not null
        and invoice_lines.period_start is not null
        and invoice_lines.period_end > invoice_lines.period_start

),

full_period_lines as (

    select
        lines.*,
        {{ to_reporting_currency(
            'case when lines.period_months >= 1 then '
            ~ divide_decimal('lines.net_amount_minor', 'lines.period_months')
            ~ ' else ' ~ divide_decimal('lines.net_amount_minor * 365', 'lines.period_days * 12') ~ ' end',
            'lines.currency'
        ) }} as monthly_rate
    from lines
    where not lines.is_proration

),

proration_lines as (

    select lines.*
    from lines
    where lines.is_proration and (lines.amount_minor > 0 or lines.is_lineless_plan_change)

),

next_renewals as (

    select
        proration_lines.invoice_line_id,
        full_period_lines.monthly_rate,
        row_number() over (
            partition by proration_lines.invoice_line_id
            order by full_period_lines.period_start, full_period_lines.invoice_line_id
        ) as renewal_rank
    from proration_lines
    inner join full_period_lines
        on
            proration_lines.subscription_id = full_period_lines.subscription_id
            -- a line-less plan change does not name its plan: the next renewal of the subscription tells it
            and (proration_lines.plan_id = full_period_lines.plan_id or proration_lines.is_lineless_plan_change)
            and full_period_lines.period_start >= proration_lines.period_start

),

subscription_prices as (

    -- The current plan's monthly rate from the subscription snapshot (unit price x quantity, less discounts).
    select
        subscriptions.subscription_id,
        subscriptions.plan_id,
        {{ to_reporting_currency(
            divide_decimal(
                divide_decimal(
                    'cast(subscriptions.unit_amount_minor as decimal(38, 10)) * subscriptions.quantity'
                    ~ ' * (100 - coalesce(subscriptions.discount_percent_off, 0))',
                    '100'
                ) ~ ' - coalesce(subscriptions.discount_amount_off_minor, 0)',
                "case subscriptions.plan_interval when 'month' then subscriptions.plan_interval_count"
                ~ " when 'year' then 12 * subscriptions.plan_interval_count end"
            ),
            'subscriptions.currency'
        ) }} as monthly_rate
    from subscriptions
    where subscriptions.unit_amount_minor is not null

),

proration_segments as (

    select
        proration_lines.*,
        coalesce(next_renewals.monthly_rate, subscription_prices.monthly_rate) as monthly_rate,
        case
            when next_renewals.monthly_rate is not null then 'next_renewal'
            when subscription_prices.monthly_rate is not null then 'subscription_price'
        end as rate_basis
    from proration_lines
    left join next_renewals
        on
            proration_lines.invoice_line_id = next_renewals.invoice_line_id
            and next_renewals.renewal_rank = 1
    left join subscription_prices
        on
            proration_lines.subscription_id = subscription_prices.subscription_id
            and (proration_lines.plan_id = subscription_prices.plan_id or proration_lines.is_lineless_plan_change)

),

segments as (

    select
        full_period_lines.invoice_line_id,
        full_period_lines.invoice_id,
        full_period_lines.subscription_id,
        full_period_lines.customer_id,
        full_period_lines.plan_id,
        full_period_lines.is_proration,
        full_period_lines.currency,
        full_period_lines.period_start,
        full_period_lines.period_end,
        full_period_lines.monthly_rate,
        'invoice_line' as rate_basis
    from full_period_lines

    union all

    select
        proration_segments.invoice_line_id,
        proration_segments.invoice_id,
        proration_segments.subscription_id,
        proration_segments.customer_id,
        proration_segments.plan_id,
        proration_segments.is_proration,
        proration_segments.currency,
        proration_segments.period_start,
        proration_segments.period_end,
        proration_segments.monthly_rate,
        proration_segments.rate_basis
    from proration_segments
    where proration_segments.monthly_rate is not null

)

select
    segments.invoice_line_id as segment_id,
    segments.invoice_id,
    segments.subscription_id,
    segments.customer_id,
    segments.plan_id,
    segments.is_proration,
    segments.rate_basis,
    segments.period_start as segment_start,
    case
        when subscriptions.ended_at < segments.period_end then subscriptions.ended_at
        else segments.period_end
    end as segment_end,
    segments.currency as billed_currency,
    cast(segments.monthly_rate as decimal(38, 10)) as monthly_rate
from segments
left join subscriptions
    on segments.subscription_id = subscriptions.subscription_id
where subscriptions.ended_at is null or subscriptions.ended_at > segments.period_start
