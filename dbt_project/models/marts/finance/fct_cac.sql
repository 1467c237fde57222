{#-
    Customer acquisition cost per month and channel, plus one 'blended' row per month over every channel.
    The rules (netting of credits, cac_status) are int_acquisition_costs_monthly's; this model rounds them once
    for publication. The full reasoning is the docs block fct_cac in finance/_finance__docs.md.
-#}

select
    cast({{ surrogate_key(['costs.month_start', 'costs.channel']) }} as {{ dbt.type_string() }}) as cac_id,
    cast(costs.month_start as date) as month_start,
    cast(costs.channel as {{ dbt.type_string() }}) as channel,
    cast(costs.is_blended as boolean) as is_blended,
    cast(costs.gross_spend as decimal(18, 4)) as gross_spend,
    cast(costs.credits as decimal(18, 4)) as credits,
    cast(costs.spend as decimal(18, 4)) as spend,
    cast(costs.new_paying_customers as bigint) as new_paying_customers,
    cast(costs.cac as decimal(18, 4)) as cac,
    cast(costs.cac_status as {{ dbt.type_string() }}) as cac_status,
    cast({{ sql_string_literal(var('reporting_currency') | upper) }} as {{ dbt.type_string() }}) as reporting_currency
from {{ ref('int_acquisition_costs_monthly') }} as costs
