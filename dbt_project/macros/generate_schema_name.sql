{#- Layers land in schemas named exactly `staging`, `intermediate` and `marts` (not dbt's default
    `<target schema>_<custom schema>`), so the published copy and the GX gates can name them directly. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
