{#-
    Unit economics per month and channel (the customer's acquisition channel), plus one 'blended' row per month.
    The full reasoning is the docs block fct_unit_economics in finance/_finance__docs.md.
-#}
{%- set gross_margin = "cast(" ~ sql_string_literal(var('gross_margin')) ~ " as decimal(9, 4))" %}
{%- set churn_floor = "cast(" ~ sql_string_literal(var('min_monthly_churn')) ~ " as decimal(18, 6))" %}

with mrr as (

    select
        fct_mrr.month_start,
        coalesce(acquisitions.channel, 'unattributed') as channel,
        fct_mrr.mrr,
        fct_mrr.previous_mrr,
        fct_mrr.movement
    from {{ ref('fct_mrr') }} as fct_mrr
    left join {{ ref('fct_customer_acquisition') }} as acquisitions
        on fct_mrr.customer_id = acquisitions.customer_id

),

mrr_by_channel as (

    select
        mrr.month_start,
        mrr.channel,
        false as is_blended,
        sum(case when mrr.previous_mrr > 0 then 1 else 0 end) as customers_at_start,
        sum(case when mrr.mrr > 0 then 1 else 0 end) as active_customers,
        sum(case when mrr.movement = 'churn' then 1 else 0 end) as churned_customers,
        sum(mrr.mrr) as mrr
    from mrr
    group by mrr.month_start, mrr.channel

),

mrr_blended as (

    select
        mrr_by_channel.month_start,
        'blended' as channel,
        true as is_blended,
        sum(mrr_by_channel.customers_at_start) as customers_at_start,
        sum(mrr_by_channel.active_customers) as active_customers,
        sum(mrr_by_channel.churned_customers) as churned_customers,
        sum(mrr_by_channel.mrr) as mrr
    from mrr_by_channel
    group by mrr_by_channel.month_start

),

mrr_rows as (

    select * from mrr_by_channel
    union all
    select * from mrr_blended

),

cac as (

    select * from {{ ref('fct_cac') }}

),

combined as (

    select
        coalesce(mrr_rows.month_start, cac.month_start) as month_start,
        coalesce(mrr_rows.channel, cac.channel) as channel,
        coalesce(mrr_rows.is_blended, cac.is_blended) as is_blended,
        coalesce(mrr_rows.customers_at_start, 0) as customers_at_start,
        coalesce(mrr_rows.active_customers, 0) as active_customers,
        coalesce(mrr_rows.churned_customers, 0) as churned_customers,
        coalesce(mrr_rows.mrr, 0) as mrr,
        coalesce(cac.spend, 0) as spend,
        coalesce(cac.new_paying_customers, 0) as new_paying_customers,
        cac.cac
    from mrr_rows
    full outer join cac
        on
            mrr_rows.month_start = cac.month_start
            and mrr_rows.channel = cac.channel

),

rated as (

    select
        combined.*,
        cast({{ divide_decimal('combined.mrr', 'combined.active_customers') }} as decimal(18, 4)) as arpa,
        cast(
            {{ divide_decimal('combined.churned_customers', 'combined.customers_at_start') }} as decimal(18, 6)
        ) as monthly_churn
    from combined

),

predicted as (

    select
        rated.*,
        case
            when rated.monthly_churn is not null
                then greatest(rated.monthly_churn, {{ churn_floor }})
        end as churn_for_prediction,
        rated.arpa * {{ gross_margin }} as margin_per_customer_month
    from rated

),

with_ltv as (

    select
        predicted.*,
        cast(
            {{ divide_decimal('predicted.margin_per_customer_month', 'predicted.churn_for_prediction') }}
            as decimal(18, 4)
        ) as predicted_ltv
    from predicted

),

final as (

    select
        with_ltv.*,
        cast({{ divide_decimal('with_ltv.predicted_ltv', 'with_ltv.cac') }} as decimal(18, 4)) as ltv_to_cac,
        cast(
            {{ divide_decimal('with_ltv.cac', 'with_ltv.margin_per_customer_month') }} as decimal(18, 4)
        ) as payback_months
    from with_ltv

)

select
    cast({{ surrogate_key(['final.month_start', 'final.channel']) }} as varchar) as unit_economics_id,
    cast(final.month_start as date) as month_start,
    cast(final.channel as varchar) as channel,
    cast(final.is_blended as boolean) as is_blended,
    cast(final.customers_at_start as bigint) as customers_at_start,
    cast(final.active_customers as bigint) as active_customers,
    cast(final.churned_customers as bigint) as churned_customers,
    cast(final.new_paying_customers as bigint) as new_paying_customers,
    cast(final.mrr as decimal(18, 4)) as mrr,
    cast(final.arpa as decimal(18, 4)) as arpa,
    {{ gross_margin }} as gross_margin,
    cast(final.monthly_churn as decimal(18, 6)) as monthly_churn,
    cast(final.churn_for_prediction as decimal(18, 6)) as churn_for_prediction,
    cast(final.predicted_ltv as decimal(18, 4)) as predicted_ltv,
    cast(final.spend as decimal(18, 4)) as spend,
    cast(final.cac as decimal(18, 4)) as cac,
    cast(final.ltv_to_cac as decimal(18, 4)) as ltv_to_cac,
    cast(final.payback_months as decimal(18, 4)) as payback_months,
    cast(
        final.ltv_to_cac >= cast({{ sql_string_literal(var('ltv_cac_target')) }} as decimal(18, 4)) as boolean
    ) as ltv_cac_ok,
    cast(
        final.payback_months <= cast({{ sql_string_literal(var('payback_months_target')) }} as decimal(18, 4))
        as boolean
    ) as payback_ok,
    cast({{ sql_string_literal(var('reporting_currency') | upper) }} as varchar) as reporting_currency
from final
