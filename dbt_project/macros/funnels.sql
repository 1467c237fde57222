{#- Funnel building blocks for fct_funnel_conversion. Steps and filters come from var('funnels'), which
    pmw/config.py validates (names whitelisted); literals are still escaped by sql_literal(). -#}

{#- Columns of the events contract that a filter or breakdown may name; anything else is a key of the
    event's `properties` JSON (pmw/config.py EVENT_COLUMNS_FOR_BREAKDOWN). -#}
{% macro event_property(property_name, relation_alias) -%}
    {%- if property_name in ('source', 'platform', 'country') -%}
        {{ relation_alias }}.{{ property_name }}
    {%- else -%}
        {{ json_text(relation_alias ~ '.properties', property_name) }}
    {%- endif -%}
{%- endmacro %}


{#- `property = value`, typed by the configured value: booleans and strings compare as text (JSON true/false
    come back as 'true'/'false'), numbers numerically (a non-numeric text is no match). -#}
{% macro property_equals(property_sql, value) -%}
    {%- if value is boolean -%}
        lower({{ property_sql }}) = {{ sql_string_literal('true' if value else 'false') }}
    {%- elif value is number -%}
        {{ dbt.safe_cast(property_sql, api.Column.translate_type('double')) }} = {{ sql_literal(value) }}
    {%- else -%}
        {{ property_sql }} = {{ sql_string_literal(value) }}
    {%- endif -%}
{%- endmacro %}


{#- One filter of a funnel step as a boolean SQL expression.
    neq / not_in also match events where the property is missing (Mixpanel's "does not equal");
    gt / gte / lt / lte compare numbers numerically and strings as text (e.g. ISO dates). -#}
{% macro funnel_filter_condition(filter, relation_alias) -%}
    {%- set property_sql = event_property(filter.property, relation_alias) -%}
    {%- set op = filter.op -%}
    {%- set comparisons = {'gt': '>', 'gte': '>=', 'lt': '<', 'lte': '<='} -%}
    {%- if op == 'is_set' -%}
        {{ property_sql }} is not null
    {%- elif op == 'is_not_set' -%}
        {{ property_sql }} is null
    {%- elif op == 'eq' -%}
        coalesce({{ property_equals(property_sql, filter.value) }}, false)
    {%- elif op == 'neq' -%}
        not coalesce({{ property_equals(property_sql, filter.value) }}, false)
    {%- elif op in ('in', 'not_in') -%}
        {%- set matches = [] -%}
        {%- for value in filter.value -%}
            {%- do matches.append('coalesce(' ~ property_equals(property_sql, value) ~ ', false)') -%}
        {%- endfor -%}
        {{ 'not ' if op == 'not_in' else '' }}({{ matches | join(' or ') }})
    {%- elif op in comparisons -%}
        {%- if filter.value is number and filter.value is not boolean -%}
            coalesce(
                {{ dbt.safe_cast(property_sql, api.Column.translate_type('double')) }}
                {{ comparisons[op] }} {{ sql_literal(filter.value) }},
                false
            )
        {%- else -%}
            coalesce({{ property_sql }} {{ comparisons[op] }} {{ sql_string_literal(filter.value) }}, false)
        {%- endif -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("unknown funnel filter op " ~ op) }}
    {%- endif -%}
{%- endmacro %}


{#- The event name and every filter of one step (filters are AND-ed). -#}
{% macro funnel_step_condition(step, relation_alias) -%}
    {{ relation_alias }}.event_name = {{ sql_string_literal(step.event) }}
    {%- for filter in step.filters %}
        and {{ funnel_filter_condition(filter, relation_alias) }}
    {%- endfor -%}
{%- endmacro %}


{#-
    funnel_paths(funnel, step_events): one row per path START, with the greedy path from it.

    Input `step_events` (a CTE name): user_key, event_id, event_at, step_index, breakdown_value (step 1 only); an
    event matching several steps appears once per step. Output: user_key, period_start (DATE, the period of the
    start), breakdown_value, start_event_id, step_1_at .. step_<n>_at (NULL past the depth), depth.

    Starts: `first_entry` -> only each user's first step-1 event per period (ties: smallest event_id), so later
    step-1 events never reset the window; `any_entry` -> every step-1 event.
    `entry_period_column`: a column of `step_events` (set on step-1 rows) that replaces the calendar period, e.g.
    the before/after window of an initiative outcome; period_start then carries that column's value.

    From a fixed start, taking at each step the EARLIEST matching event strictly later than the previous step
    (and no later than start + window) reaches the deepest step any path from that start can reach: an earlier
    step-k time leaves every later choice available. So the path from a start is a chain of "next event after"
    look-ups, one per step. The model then keeps, per user and period, the deepest path (ties: earliest start).

    Why forward from each start rather than backward from each step-k event (PERFORMANCE-NOTES "ASOF-backward",
    a running max of path start): the backward pass finds the deepest step, but only through the LATEST start that
    reaches it, while the reported path must be the EARLIEST start among the deepest, whose breakdown and step
    times are reported. The forward chain gives every start its own depth at the same cost shape: one ASOF (or
    one window pass) per step over starts + step events, never a join of all step chains.
-#}
{% macro funnel_paths(funnel, step_events, entry_period_column=none) -%}
    {%- if var('portable_funnel_sql') -%}
        {{ return(product_metrics_warehouse.default__funnel_paths(funnel, step_events, entry_period_column)) }}
    {%- endif -%}
    {%- set formulation = adapter.dispatch('funnel_paths', 'product_metrics_warehouse') -%}
    {{ return(formulation(funnel, step_events, entry_period_column)) }}
{%- endmacro %}


{#- Shared by both formulations: the path starts. -#}
{% macro funnel_path_starts(funnel, step_events, entry_period_column=none) -%}
    {%- if entry_period_column -%}
        {%- set period_sql = step_events ~ '.' ~ entry_period_column -%}
    {%- else -%}
        {%- set period_sql = 'cast(' ~ dbt.date_trunc(funnel.period, step_events ~ '.event_at') ~ ' as date)' -%}
    {%- endif %}
    select
        ranked_starts.user_key,
        ranked_starts.period_start,
        ranked_starts.breakdown_value,
        ranked_starts.start_event_id,
        ranked_starts.started_at
    from (
        select
            {{ step_events }}.user_key,
            {{ period_sql }} as period_start,
            {{ step_events }}.breakdown_value,
            {{ step_events }}.event_id as start_event_id,
            {{ step_events }}.event_at as started_at,
            row_number() over (
                partition by
                    {{ step_events }}.user_key,
                    {{ period_sql }}
                order by {{ step_events }}.event_at, {{ step_events }}.event_id
            ) as entry_rank
        from {{ step_events }}
        where {{ step_events }}.step_index = 1
    ) as ranked_starts
    {%- if funnel.entry_mode == 'first_entry' %}
        where ranked_starts.entry_rank = 1
    {%- endif %}
{%- endmacro %}


{#- Shared by both formulations: starts joined to the step each reached. -#}
{% macro funnel_paths_assembled(funnel) -%}
    {%- set step_count = funnel.steps | length -%}
    select
        path_starts.user_key,
        path_starts.period_start,
        path_starts.breakdown_value,
        path_starts.start_event_id,
        path_starts.started_at as step_1_at,
        {%- for step_index in range(2, step_count + 1) %}
            reached_step_{{ step_index }}.reached_at as step_{{ step_index }}_at,
        {%- endfor %}
        case
            {%- for step_index in range(step_count, 1, -1) %}
                when reached_step_{{ step_index }}.start_event_id is not null then {{ step_index }}
            {%- endfor %}
            else 1
        end as depth
    from path_starts
    {%- for step_index in range(2, step_count + 1) %}
        left join reached_step_{{ step_index }}
            on path_starts.start_event_id = reached_step_{{ step_index }}.start_event_id
    {%- endfor %}
{%- endmacro %}


{#- DuckDB: each path's next step is an ASOF join to the first step-k event strictly after its previous step. -#}
{% macro duckdb__funnel_paths(funnel, step_events, entry_period_column=none) -%}
    {%- set step_count = funnel.steps | length -%}
    {%- set window_seconds = funnel.conversion_window_seconds | int -%}
    with path_starts as (

        {{ funnel_path_starts(funnel, step_events, entry_period_column) }}

    ),

    reached_step_1 as (

        select
            path_starts.user_key,
            path_starts.start_event_id,
            path_starts.started_at,
            path_starts.started_at as reached_at
        from path_starts

    ),

    {%- for step_index in range(2, step_count + 1) %}

        step_{{ step_index }}_events as (

            select
                {{ step_events }}.user_key,
                {{ step_events }}.event_at
            from {{ step_events }}
            where {{ step_events }}.step_index = {{ step_index }}

        ),

        reached_step_{{ step_index }} as (

            select
                previous_step.user_key,
                previous_step.start_event_id,
                previous_step.started_at,
                next_event.event_at as reached_at
            from reached_step_{{ step_index - 1 }} as previous_step
            asof join step_{{ step_index }}_events as next_event
                on
                    previous_step.user_key = next_event.user_key
                    and previous_step.reached_at < next_event.event_at
            where
                next_event.event_at
                <= {{ dbt.dateadd('second', window_seconds, 'previous_step.started_at') }}

        ),

    {%- endfor %}

    assembled as (

        {{ funnel_paths_assembled(funnel) }}

    )

    select * from assembled
{%- endmacro %}


{#- Portable: the "first step-k event strictly after" look-up as one window pass per step. States and step-k events
    are scanned per user from the latest time backwards; a running min over the rows already scanned gives each
    state the earliest later event. At equal times states sort first, so an event at the same instant as the
    previous step is never taken (times strictly increase). -#}
{% macro default__funnel_paths(funnel, step_events, entry_period_column=none) -%}
    {%- set step_count = funnel.steps | length -%}
    {%- set window_seconds = funnel.conversion_window_seconds | int -%}
    with path_starts as (

        {{ funnel_path_starts(funnel, step_events, entry_period_column) }}

    ),

    reached_step_1 as (

        select
            path_starts.user_key,
            path_starts.start_event_id,
            path_starts.started_at,
            path_starts.started_at as reached_at
        from path_starts

    ),

    {%- for step_index in range(2, step_count + 1) %}

        scan_step_{{ step_index }} as (

            select
                scan_rows.user_key,
                scan_rows.start_event_id,
                scan_rows.started_at,
                scan_rows.is_step_event,
                min(case when scan_rows.is_step_event = 1 then scan_rows.scanned_at end) over (
                    partition by scan_rows.user_key
                    order by scan_rows.scanned_at desc, scan_rows.is_step_event asc
                    rows between unbounded preceding and 1 preceding
                ) as next_event_at
            from (
                select
                    previous_step.user_key,
                    previous_step.start_event_id,
                    previous_step.started_at,
                    previous_step.reached_at as scanned_at,
                    0 as is_step_event
                from reached_step_{{ step_index - 1 }} as previous_step

                union all

                select
                    {{ step_events }}.user_key,
                    cast(null as {{ dbt.type_string() }}) as start_event_id,
                    cast(null as {{ dbt.type_timestamp() }}) as started_at,
                    {{ step_events }}.event_at as scanned_at,
                    1 as is_step_event
                from {{ step_events }}
                where {{ step_events }}.step_index = {{ step_index }}
            ) as scan_rows

        ),

        reached_step_{{ step_index }} as (

            select
                scan_step_{{ step_index }}.user_key,
                scan_step_{{ step_index }}.start_event_id,
                scan_step_{{ step_index }}.started_at,
                scan_step_{{ step_index }}.next_event_at as reached_at
            from scan_step_{{ step_index }}
            where
                scan_step_{{ step_index }}.is_step_event = 0
                and scan_step_{{ step_index }}.next_event_at
                <= {{ dbt.dateadd('second', window_seconds, 'scan_step_' ~ step_index ~ '.started_at') }}

        ),

    {%- endfor %}

    assembled as (

        {{ funnel_paths_assembled(funnel) }}

    )

    select * from assembled
{%- endmacro %}
