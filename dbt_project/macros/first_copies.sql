{#-
    first_copies(relation, condition, key_fields, order_by): the rows of `relation` (all its columns) meeting
    `condition` (SQL on its columns, or none), keeping one row per surrogate_key(key_fields): the first by
    `order_by` (column names, ascending, the engine's default NULL order). Among rows equal on every `order_by`
    column one is kept, which one unspecified, as with row_number().

    Portable: row_number() over the filtered rows. On DuckDB that window partitions and sorts every row at full
    width (stg_analytics__events: 6.3 of its 10 s of operator time at 1M events), while a few copies in a thousand
    repeat a key. The DuckDB version ranks a narrow projection instead and drops the later copies by the lake row
    they came from.
-#}
{% macro first_copies(relation, condition, key_fields, order_by) -%}
    {{ return(adapter.dispatch('first_copies', 'product_metrics_warehouse')(relation, condition, key_fields, order_by)) }}
{%- endmacro %}

{% macro default__first_copies(relation, condition, key_fields, order_by) -%}
    select ranked_copies.*
    from (
        select
            source_rows.*,
            row_number() over (
                partition by {{ surrogate_key(key_fields) }}
                order by {{ order_by | join(', ') }}
            ) as _pmw_copy_rank
        from {{ relation }} as source_rows
        {% if condition %}where {{ condition }}{% endif %}
    ) as ranked_copies
    where ranked_copies._pmw_copy_rank = 1
{%- endmacro %}

{#- Only a lake source read by read_parquet has the row identity this needs: DuckDB's virtual columns file_index
    and file_row_number, a row's file in the relation's file list and its row in that file (both scans of one
    statement list the same files). Anything else (the empty stand-in lake_source() gives before a first file,
    a unit test's fixture) takes the portable way. The key is grouped as md5_number() of surrogate_key()'s text,
    the same digest as its md5() as a 128-bit integer: equal exactly when the surrogate keys are equal. -#}
{% macro duckdb__first_copies(relation, condition, key_fields, order_by) -%}
    {%- if relation is string or not (relation.external is defined and relation.external) -%}
        {{ return(default__first_copies(relation, condition, key_fields, order_by)) }}
    {%- endif -%}
    with keyed_copies as (

        select
            md5_number({{ surrogate_key_text(key_fields) }}) as copy_key,
            file_index,
            file_row_number,
            {{ order_by | join(', ') }}
        from {{ relation }}
        {% if condition %}where {{ condition }}{% endif %}

    ),

    repeated_keys as (

        select copy_key
        from keyed_copies
        group by copy_key
        having count(*) > 1

    ),

    later_copies as (

        select ranked.file_index, ranked.file_row_number
        from (
            select
                keyed_copies.file_index,
                keyed_copies.file_row_number,
                row_number() over (
                    partition by keyed_copies.copy_key
                    order by {{ order_by | join(', ') }}
                ) as copy_rank
            from keyed_copies
            where keyed_copies.copy_key in (select repeated_keys.copy_key from repeated_keys)
        ) as ranked
        where ranked.copy_rank > 1

    )

    select source_rows.*
    from {{ relation }} as source_rows
    where
        {% if condition %}({{ condition }}) and{% endif %}
        not exists (
            select 1
            from later_copies
            where
                later_copies.file_index = source_rows.file_index
                and later_copies.file_row_number = source_rows.file_row_number
        )
{%- endmacro %}
