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

    Simultaneous events (funnel.simultaneous_events, core/config.py SIMULTANEOUS_EVENTS):
      strict          each step strictly later than the previous one;
      same_timestamp  a step may have the previous step's timestamp (in either order of arrival);
      same_second     as same_timestamp on times truncated to the whole second, so events within one second count
                      in either order; the reported step times and medians are then whole seconds too.
    In every option one event fills at most one step: when a step's event name occurs in another step too, events
    of that name at one instant are taken in event_id order (a per-instant rank, tie_rank), so the path position
    is the pair (time, rank) and must strictly increase for those steps.

    From a fixed start, taking at each step the EARLIEST allowed matching event (and no later than start + window)
    reaches the deepest step any path from that start can reach: an earlier step-k position leaves every later
    choice available. So the path from a start is a chain of "next event after" look-ups, one per step. The model
    then keeps, per user and period, the deepest path (ties: earliest start).

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


{#- The funnel's simultaneous-events option; the configuration always sets it (core/config.py owns the default). -#}
{% macro funnel_simultaneous_events(funnel) -%}
    {%- set option = funnel.get('simultaneous_events') -%}
    {%- if option not in ('strict', 'same_timestamp', 'same_second') -%}
        {{ exceptions.raise_compiler_error(
            "funnel " ~ funnel.name ~ ": simultaneous_events must be strict, same_timestamp or same_second, got "
            ~ option
        ) }}
    {%- endif -%}
    {{ return(option) }}
{%- endmacro %}


{#- Event names that fill more than one step, where one event could otherwise fill two steps at one instant (never
    under strict, where times strictly increase). -#}
{% macro funnel_repeated_step_events(funnel) -%}
    {%- set repeated = [] -%}
    {%- if funnel_simultaneous_events(funnel) != 'strict' -%}
        {%- set names = funnel.steps | map(attribute='event') | list -%}
        {%- for name in names -%}
            {%- if names.count(name) > 1 and name not in repeated -%}
                {%- do repeated.append(name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(repeated) }}
{%- endmacro %}


{#- Shared by both formulations: the step events with the compared time (whole seconds under same_second) and,
    for repeated step event names, their per-instant rank among the user's events of that name. -#}
{% macro funnel_timed_step_events(funnel, step_events, entry_period_column=none) -%}
    {%- set repeated = funnel_repeated_step_events(funnel) -%}
    {%- set source_time = step_events ~ '.event_at' -%}
    {%- if funnel_simultaneous_events(funnel) == 'same_second' -%}
        {%- set event_time = dbt.date_trunc('second', source_time) -%}
    {%- else -%}
        {%- set event_time = source_time -%}
    {%- endif %}
    select
        {{ step_events }}.user_key,
        {{ step_events }}.event_id,
        {{ event_time }} as event_at,
        {{ step_events }}.step_index,
        {{ step_events }}.breakdown_value
        {%- if entry_period_column %},
            {{ step_events }}.{{ entry_period_column }}
        {%- endif %}
        {%- if repeated %},
            dense_rank() over (
                partition by
                    {{ step_events }}.user_key,
                    {{ event_time }},
                    case {{ step_events }}.step_index
                        {%- for step in funnel.steps %}
                            when {{ loop.index }} then {{ sql_string_literal(step.event) }}
                        {%- endfor %}
                    end
                order by {{ step_events }}.event_id
            ) as tie_rank
        {%- endif %}
    from {{ step_events }}
{%- endmacro %}


{#- Shared by both formulations: the path starts. -#}
{% macro funnel_path_starts(funnel, step_events, entry_period_column=none) -%}
    {%- set with_rank = funnel_repeated_step_events(funnel) | length > 0 -%}
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
        {%- if with_rank %},
            ranked_starts.start_tie_rank
        {%- endif %}
    from (
        select
            {{ step_events }}.user_key,
            {{ period_sql }} as period_start,
            {{ step_events }}.breakdown_value,
            {{ step_events }}.event_id as start_event_id,
            {{ step_events }}.event_at as started_at,
            {%- if with_rank %}
                {{ step_events }}.tie_rank as start_tie_rank,
            {%- endif %}
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


{#- Shared by both formulations: the first path state, the start itself. used_rank_<i> is the rank of the path's
    event of repeated name i at the path's current instant (0: none there). -#}
{% macro funnel_reached_step_1(funnel) -%}
    {%- set repeated = funnel_repeated_step_events(funnel) %}
    select
        path_starts.user_key,
        path_starts.start_event_id,
        path_starts.started_at,
        path_starts.started_at as reached_at
        {%- for name in repeated %},
            {% if funnel.steps[0].event == name -%}
                path_starts.start_tie_rank
            {%- else -%}
                0
            {%- endif %} as used_rank_{{ loop.index }}
        {%- endfor %}
    from path_starts
{%- endmacro %}


{#- Shared by both formulations: a state's used ranks after step `step_index` took the event at `next_time_sql`
    with rank `next_rank_sql` (a repeated name only) from the state `previous_sql` (reached_at, used_rank_<i>). -#}
{% macro funnel_used_ranks(funnel, step_index, previous_sql, next_time_sql, next_rank_sql) -%}
    {%- set repeated = funnel_repeated_step_events(funnel) -%}
    {%- for name in repeated %},
        {% if funnel.steps[step_index - 1].event == name -%}
            {{ next_rank_sql }}
        {%- else -%}
            case
                when {{ next_time_sql }} = {{ previous_sql }}.reached_at
                    then {{ previous_sql }}.used_rank_{{ loop.index }}
                else 0
            end
        {%- endif %} as used_rank_{{ loop.index }}
    {%- endfor -%}
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


{#- DuckDB: each path's next step is an ASOF join to the first allowed step-k event after its previous step:
    strictly later (strict), at or after (a step event name that fills no other step), or after in (time, rank)
    order (a repeated name: the same instant only with a higher rank). -#}
{% macro duckdb__funnel_paths(funnel, step_events, entry_period_column=none) -%}
    {%- set step_count = funnel.steps | length -%}
    {%- set window_seconds = funnel.conversion_window_seconds | int -%}
    {%- set option = funnel_simultaneous_events(funnel) -%}
    {%- set repeated = funnel_repeated_step_events(funnel) -%}
    with funnel_step_events as (

        {{ funnel_timed_step_events(funnel, step_events, entry_period_column) }}

    ),

    path_starts as (

        {{ funnel_path_starts(funnel, 'funnel_step_events', entry_period_column) }}

    ),

    reached_step_1 as (

        {{ funnel_reached_step_1(funnel) }}

    ),

    {%- for step_index in range(2, step_count + 1) %}
        {%- set step_event = funnel.steps[step_index - 1].event %}

        step_{{ step_index }}_events as (

            select
                funnel_step_events.user_key,
                funnel_step_events.event_at
                {%- if step_event in repeated %},
                    funnel_step_events.tie_rank
                {%- endif %}
            from funnel_step_events
            where funnel_step_events.step_index = {{ step_index }}

        ),

        reached_step_{{ step_index }} as (

            select
                previous_step.user_key,
                previous_step.start_event_id,
                previous_step.started_at,
                next_event.event_at as reached_at
                {{- funnel_used_ranks(
                    funnel, step_index, 'previous_step', 'next_event.event_at', 'next_event.tie_rank'
                ) }}
            from reached_step_{{ step_index - 1 }} as previous_step
            asof join step_{{ step_index }}_events as next_event
                on
                    previous_step.user_key = next_event.user_key
                    {%- if option == 'strict' %}
                        and previous_step.reached_at < next_event.event_at
                    {%- elif step_event in repeated %}
                        and row(previous_step.reached_at, previous_step.used_rank_{{ repeated.index(step_event) + 1 }})
                        < row(next_event.event_at, next_event.tie_rank)
                    {%- else %}
                        and previous_step.reached_at <= next_event.event_at
                    {%- endif %}
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


{#- Portable: the "first allowed step-k event after" look-up as one window pass per step. States and step-k events
    are scanned per user from the latest position backwards; a running min over the rows already scanned gives
    each state the earliest later event. A position is (time, scanned_rank): under strict both ranks are 0 and at
    equal positions states sort first, so an event at the previous step's instant is never taken; otherwise an
    event's rank is 1 (or its tie_rank, for a repeated name) and a state's 0 (or its used rank of that name), so
    an event at the same instant is taken unless it is the same or an earlier-ranked event of that name. -#}
{% macro default__funnel_paths(funnel, step_events, entry_period_column=none) -%}
    {%- set step_count = funnel.steps | length -%}
    {%- set window_seconds = funnel.conversion_window_seconds | int -%}
    {%- set option = funnel_simultaneous_events(funnel) -%}
    {%- set repeated = funnel_repeated_step_events(funnel) -%}
    with funnel_step_events as (

        {{ funnel_timed_step_events(funnel, step_events, entry_period_column) }}

    ),

    path_starts as (

        {{ funnel_path_starts(funnel, 'funnel_step_events', entry_period_column) }}

    ),

    reached_step_1 as (

        {{ funnel_reached_step_1(funnel) }}

    ),

    {%- for step_index in range(2, step_count + 1) %}
        {%- set step_event = funnel.steps[step_index - 1].event %}
        {%- if option == 'strict' %}
            {%- set state_rank, event_rank = '0', '0' %}
        {%- elif step_event in repeated %}
            {%- set state_rank = 'previous_step.used_rank_' ~ (repeated.index(step_event) + 1) %}
            {%- set event_rank = 'funnel_step_events.tie_rank' %}
        {%- else %}
            {%- set state_rank, event_rank = '0', '1' %}
        {%- endif %}

        scan_step_{{ step_index }} as (

            select
                scan_rows.*,
                min(case when scan_rows.is_step_event = 1 then scan_rows.scanned_at end) over (
                    partition by scan_rows.user_key
                    order by scan_rows.scanned_at desc, scan_rows.scanned_rank desc, scan_rows.is_step_event asc
                    rows between unbounded preceding and 1 preceding
                ) as next_event_at
            from (
                select
                    previous_step.user_key,
                    previous_step.start_event_id,
                    previous_step.started_at,
                    previous_step.reached_at,
                    {%- for name in repeated %}
                        previous_step.used_rank_{{ loop.index }},
                    {%- endfor %}
                    previous_step.reached_at as scanned_at,
                    {{ state_rank }} as scanned_rank,
                    0 as is_step_event
                from reached_step_{{ step_index - 1 }} as previous_step

                union all

                select
                    funnel_step_events.user_key,
                    cast(null as {{ dbt.type_string() }}) as start_event_id,
                    cast(null as {{ dbt.type_timestamp() }}) as started_at,
                    cast(null as {{ dbt.type_timestamp() }}) as reached_at,
                    {%- for name in repeated %}
                        cast(null as {{ dbt.type_bigint() }}) as used_rank_{{ loop.index }},
                    {%- endfor %}
                    funnel_step_events.event_at as scanned_at,
                    {{ event_rank }} as scanned_rank,
                    1 as is_step_event
                from funnel_step_events
                where funnel_step_events.step_index = {{ step_index }}
            ) as scan_rows

        ),

        {%- if step_event in repeated %}

            -- The rank of the event taken: the lowest at that instant past the state's own position.
            taken_step_{{ step_index }} as (

                select
                    scan_step_{{ step_index }}.user_key,
                    scan_step_{{ step_index }}.start_event_id,
                    scan_step_{{ step_index }}.started_at,
                    scan_step_{{ step_index }}.reached_at,
                    {%- for name in repeated %}
                        scan_step_{{ step_index }}.used_rank_{{ loop.index }},
                    {%- endfor %}
                    scan_step_{{ step_index }}.next_event_at,
                    min(step_event_ranks.tie_rank) as next_tie_rank
                from scan_step_{{ step_index }}
                inner join funnel_step_events as step_event_ranks
                    on
                        scan_step_{{ step_index }}.user_key = step_event_ranks.user_key
                        and scan_step_{{ step_index }}.next_event_at = step_event_ranks.event_at
                        and step_event_ranks.step_index = {{ step_index }}
                        and (
                            step_event_ranks.event_at > scan_step_{{ step_index }}.reached_at
                            or step_event_ranks.tie_rank > scan_step_{{ step_index }}.scanned_rank
                        )
                where scan_step_{{ step_index }}.is_step_event = 0
                group by
                    scan_step_{{ step_index }}.user_key,
                    scan_step_{{ step_index }}.start_event_id,
                    scan_step_{{ step_index }}.started_at,
                    scan_step_{{ step_index }}.reached_at,
                    {%- for name in repeated %}
                        scan_step_{{ step_index }}.used_rank_{{ loop.index }},
                    {%- endfor %}
                    scan_step_{{ step_index }}.next_event_at

            ),

        {%- endif %}

        reached_step_{{ step_index }} as (

            select
                previous_step.user_key,
                previous_step.start_event_id,
                previous_step.started_at,
                previous_step.next_event_at as reached_at
                {{- funnel_used_ranks(
                    funnel, step_index, 'previous_step', 'previous_step.next_event_at', 'previous_step.next_tie_rank'
                ) }}
            {%- if step_event in repeated %}
                from taken_step_{{ step_index }} as previous_step
                where
            {%- else %}
                from scan_step_{{ step_index }} as previous_step
                where
                    previous_step.is_step_event = 0
                    and
            {%- endif %}
                previous_step.next_event_at
                <= {{ dbt.dateadd('second', window_seconds, 'previous_step.started_at') }}

        ),

    {%- endfor %}

    assembled as (

        {{ funnel_paths_assembled(funnel) }}

    )

    select * from assembled
{%- endmacro %}
