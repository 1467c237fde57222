{#-
    dbt's get_where_subquery (what a data test's `where` config becomes), with one addition: the marker
    `__newest_batch__(<column>)` stands for `<column> = (select max(<column>) from <the tested model>)`.

    An incremental model stamps every row it writes with its batch (stg_analytics__events.loaded_at,
    int_events_sessionized.sessionized_through, int_identities_stitched.stitched_through), and never changes a row
    without writing it again. A row-level test (not_null, accepted_values, relationships to a table that never
    loses keys) therefore only needs the rows of the newest batch: the older ones passed when they were written.
    Set-level tests (unique) carry no such `where` and still read the whole table, where a new row can break them.
    The newest batch is the one this invocation wrote (or, when it wrote nothing, the one before: tested again);
    a `--full-refresh` tests every row, whatever the stamps say.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set marker = '__newest_batch__(' -%}
    {%- if where and marker in where -%}
        {%- set before, rest = where.split(marker, 1) -%}
        {%- set column, after = rest.split(')', 1) -%}
        {%- if flags.FULL_REFRESH -%}
            {%- set newest = '1 = 1' -%}
        {%- else -%}
            {%- set newest -%}
                {{ column }} = (select max(newest_batch.{{ column }}) from {{ relation }} as newest_batch)
            {%- endset -%}
        {%- endif -%}
        {%- set where = before ~ newest ~ after -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
