{#-
    Unit economics per month and channel (the customer's acquisition channel), plus one 'blended' row per month.
    The full reasoning is the docs block fct_unit_economics in finance/_finance__docs.md.
-#}
{%- set gross_margin = "cast(" ~ sql_string_literal(var('gross_margin')) ~ " as decimal(9, 4))" %}
{%- set churn_floor = "cast(" ~ sql_string_literal(var('min_monthly_churn')) ~ " as decimal(18, 6))" %}

with mrr as (

    select
        customer_mrr.month_start,
        coalesce(acquisitions.channel, 'unattributed') as channel,
        -- The unrounded per-customer MRR (fct_mrr's published column is rounded): summed exactly below.
        customer_mrr.mrr,
        customer_mrr.previous_mrr,
        customer_mrr.movement
    from {{ ref('int_customer_mrr_monthly') }} as customer_mrr
    left join {{ ref('fct_customer_acquisition') }} as acquisitions
        on customer_mrr.customer_id = acquisitions.customer_id

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

costs as (

    select * from {{ ref('int_acquisition_costs_monthly') }}

),

combined as (

    select
        coalesce(mrr_rows.month_start, costs.month_start) as month_start,
        coalesce(mrr_rows.channel, costs.channel) as channel,
        coalesce(mrr_rows.is_blended, costs.is_blended) as is_blended,
        coalesce(mrr_rows.customers_at_start, 0) as customers_at_start,
        coalesce(mrr_rows.active_customers, 0) as active_customers,
        coalesce(mrr_rows.churned_customers, 0) as churned_customers,
        coalesce(mrr_rows.mrr, 0) as mrr,
        coalesce(costs.spend, 0) as spend,
        coalesce(costs.new_paying_customers, 0) as new_paying_customers,
        -- A month and channel with MRR but neither spend nor new customers has no acquisition cost to measure.
        coalesce(costs.cac_status, 'no_spend') as cac_status
    from mrr_rows
    full outer join costs
        on
            mrr_rows.month_start = costs.month_start
            and mrr_rows.channel = costs.channel

),

{#
    Every derived figure is ONE division of exact products of the unrounded inputs (integer counts, MRR, net spend,
    the configured margin and churn floor), so nothing is computed from a rounded intermediate:
      arpa = mrr / active;  churn = churned / at_start;  cac = spend / new (measured rows only)
      predicted_ltv = arpa x gm / churn = mrr x gm x at_start / (active x churned)   (churn >= floor)
                    = mrr x gm / (active x floor)                                   (churn below the floor)
      ltv_to_cac = predicted_ltv / cac = ltv_numerator x new / (ltv_denominator x spend)
      payback_months = cac / (arpa x gm) = spend x active / (new x mrr x gm)
    divide_decimal keeps 10 decimals; the published columns round that once (half away from zero).
#}
churn_basis as (

    select
        combined.*,
        -- churned / at_start >= floor, compared without dividing; NULL without customers at the start.
        case
            when combined.customers_at_start > 0
                then combined.churned_customers >= {{ churn_floor }} * combined.customers_at_start
        end as churn_reaches_floor,
        {{ divide_decimal('combined.churned_customers', 'combined.customers_at_start') }} as monthly_churn
    from combined

),

ltv_terms as (

    select
        churn_basis.*,
        case
            when churn_basis.churn_reaches_floor
                then churn_basis.mrr * {{ gross_margin }} * churn_basis.customers_at_start
            when not churn_basis.churn_reaches_floor
                then churn_basis.mrr * {{ gross_margin }}
        end as ltv_numerator,
        case
            when churn_basis.churn_reaches_floor
                then churn_basis.active_customers * churn_basis.churned_customers
            when not churn_basis.churn_reaches_floor
                then churn_basis.active_customers * {{ churn_floor }}
        end as ltv_denominator,
        churn_basis.cac_status = 'measured' as has_cac
    from churn_basis

),

ratio_terms as (

    select
        ltv_terms.*,
        ltv_terms.ltv_numerator * ltv_terms.new_paying_customers as ltv_to_cac_numerator,
        ltv_terms.ltv_denominator * ltv_terms.spend as ltv_to_cac_denominator,
        ltv_terms.spend * ltv_terms.active_customers as payback_numerator,
        ltv_terms.new_paying_customers * ltv_terms.mrr * {{ gross_margin }} as payback_denominator
    from ltv_terms

),

final as (

    select
        ratio_terms.*,
        {{ divide_decimal('ratio_terms.mrr', 'ratio_terms.active_customers') }} as arpa,
        -- greatest() skips NULLs: without customers at the start there is no churn to floor.
        case
            when ratio_terms.monthly_churn is not null then greatest(ratio_terms.monthly_churn, {{ churn_floor }})
        end as churn_for_prediction,
        {{ divide_decimal('ratio_terms.ltv_numerator', 'ratio_terms.ltv_denominator') }} as predicted_ltv,
        case
            when ratio_terms.has_cac
                then {{ divide_decimal('ratio_terms.spend', 'ratio_terms.new_paying_customers') }}
        end as cac,
        case
            when ratio_terms.has_cac
                then {{ divide_decimal('ratio_terms.ltv_to_cac_numerator', 'ratio_terms.ltv_to_cac_denominator') }}
        end as ltv_to_cac,
        case
            when ratio_terms.has_cac
                then {{ divide_decimal('ratio_terms.payback_numerator', 'ratio_terms.payback_denominator') }}
        end as payback_months
    from ratio_terms

)

select
    cast({{ surrogate_key(['final.month_start', 'final.channel']) }} as {{ dbt.type_string() }}) as unit_economics_id,
    cast(final.month_start as date) as month_start,
    cast(final.channel as {{ dbt.type_string() }}) as channel,
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
    cast(final.cac_status as {{ dbt.type_string() }}) as cac_status,
    cast(final.ltv_to_cac as decimal(18, 4)) as ltv_to_cac,
    cast(final.payback_months as decimal(18, 4)) as payback_months,
    -- The targets compare the unrounded ratios: a flag never depends on the presentation rounding.
    cast(
        final.ltv_to_cac >= cast({{ sql_string_literal(var('ltv_cac_target')) }} as decimal(18, 4)) as boolean
    ) as ltv_cac_ok,
    cast(
        final.payback_months <= cast({{ sql_string_literal(var('payback_months_target')) }} as decimal(18, 4))
        as boolean
    ) as payback_ok,
    cast({{ sql_string_literal(var('reporting_currency') | upper) }} as {{ dbt.type_string() }}) as reporting_currency
from final
