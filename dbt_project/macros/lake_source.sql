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
    {%- set node = graph.sources['source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name] -%}
    {%- set matched = run_query("select count(*) from glob('" ~ lake_directory(node) ~ "/*.parquet')") -%}
    {%- if matched.columns[0].values()[0] > 0 -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set typed_nulls = [] -%}
    {%- for column in node.columns.values() -%}
        {%- do typed_nulls.append('cast(null as ' ~ column.data_type ~ ') as ' ~ adapter.quote(column.name)) -%}
    {%- endfor -%}
    {{ return('(select ' ~ typed_nulls | join(', ') ~ ' where 1 = 0)') }}
{%- endmacro %}


{#- A lake source table's directory: the lake (PMW_LAKE_DIR, set by orchestration/dbt_cli.py from the settings)
    joined with the table's meta.lake_path (<source>/<entity>, where ingest writes it). -#}
{% macro lake_directory(source_node) -%}
    {%- set lake_path = source_node.config.meta.get('lake_path') -%}
    {%- if not lake_path -%}
        {{ exceptions.raise_compiler_error('lake source ' ~ source_node.unique_id ~ ' has no meta.lake_path') }}
    {%- endif -%}
    {{ return(env_var('PMW_LAKE_DIR').rstrip('/') ~ '/' ~ lake_path) }}
{%- endmacro %}


{#-
    stage_lake_sources(): the on-run-start hook. Spark has no dbt-duckdb external_location: it reads the lake's
    Parquet through external tables `lake.<entity>`, created here for every source table with a meta.lake_path
    (not fct_portfolio_scores, which the scoring asset writes) with its declared columns, so source()
    renders the same relation name on both engines. Spark reads a directory by column name (a column missing from
    an older file is NULL, like DuckDB's union_by_name) and skips `_schema.parquet` (a leading underscore is a
    hidden file to Hadoop). Re-created on every invocation: the table lists no files, but the DDL follows the yml.
-#}
{% macro stage_lake_sources() -%}
    {{ return(adapter.dispatch('stage_lake_sources', 'product_metrics_warehouse')()) }}
{%- endmacro %}

{#- DuckDB reads the files directly: an empty hook, which dbt does not even send to the engine. -#}
{% macro default__stage_lake_sources() -%}
{%- endmacro %}

{% macro spark__stage_lake_sources() -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() if node.package_name == project_name and node.config.meta.get('lake_path') -%}
            {%- set columns = [] -%}
            {%- for column in node.columns.values() -%}
                {%- do columns.append(adapter.quote(column.name) ~ ' ' ~ column.data_type) -%}
            {%- endfor -%}
            {%- set table = node.schema ~ '.' ~ node.identifier -%}
            {%- do run_query('create schema if not exists ' ~ node.schema) -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query(
                'create table ' ~ table ~ ' (' ~ columns | join(', ') ~ ") using parquet location '"
                ~ lake_directory(node) ~ "'"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
