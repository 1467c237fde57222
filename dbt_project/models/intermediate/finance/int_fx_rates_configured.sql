{#-
    One row per currency with a configured rate: var('fx_rates') (reporting-currency units per one unit of the
    currency, exact decimal text from config/pmw.yml), the reporting currency itself at 1, and the currency's ISO
    4217 minor-unit exponent (JPY 0, most 2, KWD 3). The same entries drive to_reporting_currency(), so this
    table is what every conversion used; the test assert_every_money_currency_has_an_fx_rate checks every billing
    and spend currency against it.
-#}
{%- set entries = fx_rate_entries() %}

with configured_rates as (

    {%- for entry in entries %}
        select
            cast({{ sql_string_literal(entry.currency) }} as {{ dbt.type_string() }}) as currency,
            cast({{ sql_string_literal(entry.rate) }} as decimal(24, 12)) as rate_to_reporting,
            cast({{ entry.exponent }} as {{ dbt.type_int() }}) as minor_unit_exponent,
            cast(
                cast({{ sql_string_literal(entry.rate) }} as decimal(38, 12))
                * {{ minor_unit_scale_literal(entry.exponent) }}
                as decimal(38, 14)
            ) as rate_per_minor_unit
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

)

select
    configured_rates.currency,
    cast({{ sql_string_literal(var('reporting_currency') | upper) }} as {{ dbt.type_string() }})
        as reporting_currency,
    configured_rates.rate_to_reporting,
    configured_rates.minor_unit_exponent,
    configured_rates.rate_per_minor_unit
from configured_rates
