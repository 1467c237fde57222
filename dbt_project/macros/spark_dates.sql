{#-
    Spark overrides of dbt's dateadd/datediff (root-project macros win dbt's dispatch). dbt-spark 1.11 adds and
    subtracts through to_unix_timestamp/to_timestamp: whole seconds only (DuckDB keeps microseconds), and with
    spark.sql.timestampType=TIMESTAMP_NTZ its to_timestamp(bigint) is NULL, which silently broke the inactivity
    gap of int_events_sessionized (unit test sessions_ignore_vendor_session_change_when_disabled).
    These keep the input's timestamp type and microseconds, and count boundaries like DuckDB's date_diff.
-#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart | upper }}, cast({{ interval }} as bigint), {{ from_date_or_timestamp }})
{%- endmacro %}

{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- set micros = {'microsecond': 1, 'millisecond': 1000, 'second': 1000000, 'minute': 60000000,
                      'hour': 3600000000} -%}
    {%- if datepart in micros -%}
        (floor(unix_micros(cast({{ second_date }} as timestamp_ltz)) / {{ micros[datepart] }})
         - floor(unix_micros(cast({{ first_date }} as timestamp_ltz)) / {{ micros[datepart] }}))
    {%- elif datepart == 'day' -%}
        datediff(cast({{ second_date }} as date), cast({{ first_date }} as date))
    {%- elif datepart == 'week' -%}
        floor(datediff(date_trunc('week', {{ second_date }}), date_trunc('week', {{ first_date }})) / 7)
    {%- elif datepart in ('month', 'quarter', 'year') -%}
        {%- set months = {'month': 1, 'quarter': 3, 'year': 12}[datepart] -%}
        {%- if datepart == 'year' -%}
        (year({{ second_date }}) - year({{ first_date }}))
        {%- else -%}
        (floor((year({{ second_date }}) * 12 + month({{ second_date }}) - 1) / {{ months }})
         - floor((year({{ first_date }}) * 12 + month({{ first_date }}) - 1) / {{ months }}))
        {%- endif -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error('spark__datediff: datepart ' ~ datepart ~ ' not implemented') }}
    {%- endif -%}
{%- endmacro %}
