{#- Money helpers for the finance models (DESIGN.md, CLV/CAC). Money is DECIMAL with its currency stated, never a
    float: amounts arrive as integer minor units (billing) or DECIMAL major units (marketing), are converted to
    var('reporting_currency') ONCE, here, with var('fx_rates'), and every division goes through divide_decimal(),
    because DuckDB's decimal `/` returns a DOUBLE. -#}

{#- ISO 4217 minor-unit exponents that are not 2 (Stripe's zero-decimal and three-decimal currencies). -#}
{% macro minor_unit_exponent(currency_code) -%}
    {%- set zero_decimal = [
        'BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV',
        'XAF', 'XOF', 'XPF'
    ] -%}
    {%- set three_decimal = ['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND'] -%}
    {%- if currency_code | upper in zero_decimal -%}
        {{ return(0) }}
    {%- elif currency_code | upper in three_decimal -%}
        {{ return(3) }}
    {%- else -%}
        {{ return(2) }}
    {%- endif -%}
{%- endmacro %}


{#- The configured rates as a list of {currency, rate, exponent}: var('fx_rates') (reporting units per 1 unit of
    the currency, decimal text), with the reporting currency at 1 when the vars do not list it. -#}
{% macro fx_rate_entries() -%}
    {%- set rates = {} -%}
    {%- for currency, rate in var('fx_rates').items() -%}
        {%- do rates.update({currency | upper: rate | string}) -%}
    {%- endfor -%}
    {%- if var('reporting_currency') | upper not in rates -%}
        {%- do rates.update({var('reporting_currency') | upper: '1'}) -%}
    {%- endif -%}
    {%- set entries = [] -%}
    {%- for currency in rates | sort -%}
        {%- do entries.append({
            'currency': currency,
            'rate': rates[currency],
            'exponent': minor_unit_exponent(currency),
        }) -%}
    {%- endfor -%}
    {{ return(entries) }}
{%- endmacro %}


{#- 10^-exponent as an exact decimal literal. -#}
{% macro minor_unit_scale_literal(exponent) -%}
    {%- if exponent == 0 -%}
        cast('1' as decimal(38, 12))
    {%- else -%}
        cast('0.{{ "0" * (exponent - 1) }}1' as decimal(38, 12))
    {%- endif -%}
{%- endmacro %}


{#- Reporting-currency units per one unit (units='major') or one minor unit (units='minor') of `currency`;
    NULL for a currency without a configured rate. -#}
{% macro fx_factor(currency, units='minor') -%}
    case upper(trim({{ currency }}))
        {%- for entry in fx_rate_entries() %}
            when {{ sql_string_literal(entry.currency) }} then cast(
                cast({{ sql_string_literal(entry.rate) }} as decimal(38, 12))
                {%- if units == 'minor' %} * {{ minor_unit_scale_literal(entry.exponent) }}{% endif %}
                as decimal(38, 14)
            )
        {%- endfor %}
    end
{%- endmacro %}


{#- An amount in `currency` converted to the reporting currency, DECIMAL(38, 10). The one place money changes
    currency. A currency with no configured rate never converts to NULL silently: the dbt test
    assert_every_money_currency_has_an_fx_rate fails the build, and on DuckDB the query itself errors naming the
    currency (require_value). `units`: 'minor' for integer minor units (billing), 'major' for DECIMAL major units
    (marketing). -#}
{% macro to_reporting_currency(amount, currency, units='minor') -%}
    cast(
        case
            when {{ amount }} is not null
                then cast({{ amount }} as decimal(38, 6))
                * {{ require_value(
                    fx_factor(currency, units),
                    "'no fx rate configured for currency ' || coalesce(upper(cast(" ~ currency ~ " as "
                    ~ dbt.type_string() ~ ")), 'NULL') || ' (finance.fx_rates)'"
                ) }}
        end
        as decimal(38, 10)
    )
{%- endmacro %}


{#- The expression, or a query error with `message_sql` (a SQL text expression) when it is NULL. Portable
    engines without an error function fall back to the expression (the dbt tests still catch it). -#}
{% macro require_value(expression, message_sql) -%}
    {{ return(adapter.dispatch('require_value', 'product_metrics_warehouse')(expression, message_sql)) }}
{%- endmacro %}

{% macro duckdb__require_value(expression, message_sql) -%}
    coalesce({{ expression }}, error({{ message_sql }}))
{%- endmacro %}

{% macro default__require_value(expression, message_sql) -%}
    {{ expression }}
{%- endmacro %}


{#- numerator / denominator as DECIMAL(38, 10) (truncated at 10 decimals); NULL when the denominator is 0 or NULL,
    never a division by zero. DuckDB's decimal `/` returns a DOUBLE, so there the quotient is an exact integer
    division of the operands scaled to integers (valid for magnitudes below 1e17). -#}
{% macro divide_decimal(numerator, denominator) -%}
    {{ return(adapter.dispatch('divide_decimal', 'product_metrics_warehouse')(numerator, denominator)) }}
{%- endmacro %}

{% macro duckdb__divide_decimal(numerator, denominator) -%}
    case
        when cast({{ denominator }} as decimal(38, 10)) != 0
            then cast(
                cast(
                    cast(
                        cast(
                            {{ numerator }}
                            as decimal(38, 10)
                        ) * 10000000000 as hugeint
                    ) * 10000000000
                    // cast(
                        cast(
                            {{ denominator }}
                            as decimal(38, 10)
                        ) * 10000000000 as hugeint
                    )
                    as decimal(38, 0)
                ) * cast('0.0000000001' as decimal(11, 10))
                as decimal(38, 10)
            )
    end
{%- endmacro %}

{#- Portable (Spark runs it; docs/scale-out.md): decimal(38,10) / decimal(38,10) keeps only 6 decimals on Spark
    (spark.sql.decimalOperations.allowPrecisionLoss), and a decimal cast rounds half-up where DuckDB's integer `//`
    truncates. decimal(24,10) operands give a decimal(38,14) quotient; subtracting its remainder modulo 1e-10
    truncates it toward zero to 10 decimals, as DuckDB's version does. -#}
{% macro default__divide_decimal(numerator, denominator) -%}
    {%- set quotient -%}
        (cast({{ numerator }} as decimal(24, 10)) / cast({{ denominator }} as decimal(24, 10)))
    {%- endset -%}
    case
        when cast({{ denominator }} as decimal(24, 10)) != 0
            then cast(
                {{ quotient }} - mod({{ quotient }}, cast('0.0000000001' as decimal(11, 10)))
                as decimal(38, 10)
            )
    end
{%- endmacro %}


{#- A raw channel, vendor or utm_source value in the reporting channel vocabulary: var('channel_map') by its exact
    key, then case-insensitively; an unmapped non-empty value passes through lower-cased (visible, not lost), or is
    NULL with pass_through=false; NULL when empty. -#}
{% macro mapped_channel(raw_value, pass_through=true) -%}
    {%- set channel_map = var('channel_map') -%}
    case
        when nullif(trim({{ raw_value }}), '') is null then null
        {%- for name, channel in channel_map.items() %}
            when trim({{ raw_value }}) = {{ sql_string_literal(name) }} then {{ sql_string_literal(channel) }}
        {%- endfor %}
        {%- for name, channel in channel_map.items() %}
            when lower(trim({{ raw_value }})) = {{ sql_string_literal(name | lower) }}
                then {{ sql_string_literal(channel) }}
        {%- endfor %}
        {%- if pass_through %}
            else cast(lower(trim({{ raw_value }})) as {{ dbt.type_string() }})
        {%- endif %}
    end
{%- endmacro %}


{#- First day of the month of a date or timestamp, as DATE. -#}
{% macro month_start(expression) -%}
    cast({{ dbt.date_trunc('month', expression) }} as date)
{%- endmacro %}
