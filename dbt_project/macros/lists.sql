{#- List helpers for Jira's multi-valued fields. Engine-specific, so dispatched (DESIGN.md, "Beyond one machine"):
    DuckDB lists and unnest, Spark arrays and explode. -#}

{#- One output row per element of an array expression; use as a select-list item. -#}
{% macro explode_array(array_expression) -%}
    {{ return(adapter.dispatch('explode_array', 'product_metrics_warehouse')(array_expression)) }}
{%- endmacro %}

{% macro duckdb__explode_array(array_expression) -%}
    unnest({{ array_expression }})
{%- endmacro %}

{% macro default__explode_array(array_expression) -%}
    explode({{ array_expression }})
{%- endmacro %}


{#- A comma-separated text (e.g. the changelog's "12, 13" sprint ids) as an array of trimmed texts. An empty or
    NULL text gives one empty string: callers filter out empty elements after exploding. -#}
{% macro split_comma_list(text_expression) -%}
    {{ return(adapter.dispatch('split_comma_list', 'product_metrics_warehouse')(text_expression)) }}
{%- endmacro %}

{% macro duckdb__split_comma_list(text_expression) -%}
    string_split_regex(trim(coalesce({{ text_expression }}, '')), '\s*,\s*')
{%- endmacro %}

{% macro default__split_comma_list(text_expression) -%}
    split(trim(coalesce({{ text_expression }}, '')), '\\s*,\\s*')
{%- endmacro %}


{#- A text array literal from a list of configuration values (pmw/config.py whitelists them). -#}
{% macro string_array_literal(values) -%}
    {{ return(adapter.dispatch('string_array_literal', 'product_metrics_warehouse')(values)) }}
{%- endmacro %}

{% macro duckdb__string_array_literal(values) -%}
    cast([{% for value in values %}{{ sql_string_literal(value) }}{% if not loop.last %}, {% endif %}{% endfor %}] as varchar[])
{%- endmacro %}

{% macro default__string_array_literal(values) -%}
    cast(array({% for value in values %}{{ sql_string_literal(value) }}{% if not loop.last %}, {% endif %}{% endfor %}) as array<string>)
{%- endmacro %}
