{#- Spark override of dbt.listagg: dbt-spark 1.11 drops order_by_clause ("not supported"), so the list's order
    would differ from DuckDB's string_agg(... order by ...). Sorted through an array of (key, value) structs. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause -%}
        {%- set key = modules.re.sub('(?i)^\\s*order\\s+by\\s+', '', order_by_clause) -%}
        {%- set descending = modules.re.search('(?i)\\s+desc\\s*$', key) is not none -%}
        {%- set key = modules.re.sub('(?i)\\s+(asc|desc)\\s*$', '', key) -%}
        {%- set sorted = 'array_sort(collect_list(struct(' ~ key ~ ' as sort_key, ' ~ measure ~ ' as item)))' -%}
        {%- if descending -%}{%- set sorted = 'reverse(' ~ sorted ~ ')' -%}{%- endif -%}
        array_join(
            {%- if limit_num -%}slice({%- endif -%}
            transform({{ sorted }}, pair -> pair.item)
            {%- if limit_num -%}, 1, {{ limit_num }}){%- endif -%},
            {{ delimiter_text }})
    {%- else -%}
        array_join(
            {%- if limit_num -%}slice({%- endif -%}collect_list({{ measure }})
            {%- if limit_num -%}, 1, {{ limit_num }}){%- endif -%},
            {{ delimiter_text }})
    {%- endif -%}
{%- endmacro %}
