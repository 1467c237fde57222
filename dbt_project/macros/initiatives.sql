{#- One row per (initiative_key, event_name) of var('initiatives')' adoption_events: the events whose use counts as
    adopting the initiative. An empty relation with the same columns when none is configured. -#}
{% macro initiative_adoption_events() -%}
    {%- set initiatives = var('initiatives') -%}
    {%- if initiatives is string %}{% set initiatives = fromjson(initiatives) %}{% endif -%}
    {%- set adoption_pairs = [] -%}
    {%- for initiative in initiatives -%}
        {%- for event in initiative.adoption_events or [] -%}
            {%- do adoption_pairs.append((initiative.key, event)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if adoption_pairs | length == 0 -%}
        select
            cast(null as {{ dbt.type_string() }}) as initiative_key,
            cast(null as {{ dbt.type_string() }}) as event_name
        where 1 = 0
    {%- else -%}
        {%- for key, event in adoption_pairs %}
            select
                {{ sql_string_literal(key) }} as initiative_key,
                {{ sql_string_literal(event) }} as event_name
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}
