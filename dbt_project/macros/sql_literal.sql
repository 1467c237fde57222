{#- Render a configuration value as a SQL literal. pmw/config.py already whitelists these values;
    quotes are still doubled here as defence in depth. -#}
{% macro sql_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is boolean -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        '{{ value | string | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}

{#- A string literal whatever the value's type (numbers compared as text, e.g. a breakdown value). -#}
{% macro sql_string_literal(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}
