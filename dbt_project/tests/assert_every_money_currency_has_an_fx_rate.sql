{#- Every currency that billing or ad spend is recorded in has a configured rate (finance.fx_rates), so no amount
    ever converts to NULL silently. A failure names the currency and where it occurs; add its rate to config. -#}
{#- Several parents: dagster-dbt attaches the test as a blocking check to the rates table it checks against. -#}
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'int_fx_rates_configured'}}}) }}

with money_currencies as (

    select distinct 'billing invoices' as found_in, invoices.currency
    from {{ ref('stg_billing__invoices') }} as invoices
    union all
    select distinct 'billing invoice lines' as found_in, invoice_lines.currency
    from {{ ref('stg_billing__invoice_lines') }} as invoice_lines
    union all
    select distinct 'billing subscriptions' as found_in, subscriptions.currency
    from {{ ref('stg_billing__subscriptions') }} as subscriptions
    where subscriptions.unit_amount_minor is not null
    union all
    select distinct 'billing refunds' as found_in, refunds.currency
    from {{ ref('stg_billing__refunds') }} as refunds
    union all
    select distinct 'marketing spend' as found_in, spend.currency
    from {{ ref('stg_marketing__spend') }} as spend

)

select
    money_currencies.found_in,
    money_currencies.currency
from money_currencies
left join {{ ref('int_fx_rates_configured') }} as fx_rates
    on money_currencies.currency = fx_rates.currency
where fx_rates.currency is null
