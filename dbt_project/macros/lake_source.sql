{#-
    lake_source(source_name, table_name): the lake source relation, or an empty relation with the source's declared
    columns and types while the lake holds no file for it yet.

    Ingest keeps a zero-row `_schema.parquet` per entity, so once a source's ingest has run its glob always matches.
    A deployment that has not landed anything for a source (no Jira at all, or the analytics-only test lake) has no
    directory, and DuckDB refuses to even create a view over a glob matching nothing. Building that source's models
    empty keeps the rest of the project building; the marts are then empty, not wrong. Models still call source()
    here, so lineage and `dbt build --select source:...+` are unaffected.
-#}
{% macro lake_source(source_name, table_name) -%}
    {{ return(adapter.dispatch('lake_source', 'product_metrics_warehouse')(source_name, table_name)) }}
{%- endmacro %}

{% macro default__lake_source(source_name, table_name) -%}
    {{ return(source(source_name, table_name)) }}
{%- endmacro %}

{% macro duckdb__lake_source(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {#- Not at parse time (no connection); not in unit tests, where source() is a fixture CTE without a location. -#}
    {%- set location = relation.external if relation.external is defined else none -%}
    {%- if not execute or not location -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set file_glob = modules.re.search("read_parquet\\(\\s*'((?:[^']|'')+)'", location) -%}
    {%- if file_glob is none -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set matched = run_query("select count(*) from glob('" ~ file_glob.group(1) ~ "')") -%}
    {%- if matched.columns[0].values()[0] > 0 -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set node = graph.sources['source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name] -%}
    {%- set typed_nulls = [] -%}
    {%- for column in node.columns.values() -%}
        {%- do typed_nulls.append('cast(null as ' ~ column.data_type ~ ') as ' ~ adapter.quote(column.name)) -%}
    {%- endfor -%}
    {{ return('(select ' ~ typed_nulls | join(', ') ~ ' where 1 = 0)') }}
{%- endmacro %}
