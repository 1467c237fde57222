{#- A deterministic key: the hash of the fields joined with a separator, NULL spelled out so that
    (NULL, 'a') and ('', 'a') differ. Built from dbt's cross-database macros (no dbt_utils offline). -#}
{% macro surrogate_key(fields) -%}
    {{ dbt.hash(surrogate_key_text(fields)) }}
{%- endmacro %}

{#- The text surrogate_key() hashes: equal texts, equal keys (first_copies groups on it). -#}
{% macro surrogate_key_text(fields) -%}
    {%- set parts = [] -%}
    {%- for field in fields -%}
        {%- do parts.append("coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), '_pmw_null_')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}
