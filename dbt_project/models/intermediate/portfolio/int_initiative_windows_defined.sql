{#-
    One row per initiative of var('initiatives'): its ship instant (dim_initiatives), the equal outcome windows
    [shipped_at - W, shipped_at) and [shipped_at, shipped_at + W) with W = window_days, and whether the after
    window has been observed in full.

    observation_lag_seconds is how long after a unit enters a window its outcome can still change: the funnel's
    conversion window (funnel_step), N + 1 periods of the retention grain (retention: a cohort's period N ends at
    most that long after its start event), 0 for nps and revenue. data_as_of is the newest record of the metric's
    source (events, NPS responses, billing invoices). is_window_complete: shipped, and
    after_window_end + observation_lag_seconds <= data_as_of. Unshipped initiatives have NULL windows.
-#}
{%- set initiatives = var('initiatives') -%}
{%- if initiatives is string %}{% set initiatives = fromjson(initiatives) %}{% endif -%}
{%- set funnels = var('funnels') -%}
{%- if funnels is string %}{% set funnels = fromjson(funnels) %}{% endif -%}
{%- set retentions = var('retention') -%}
{%- if retentions is string %}{% set retentions = fromjson(retentions) %}{% endif -%}
{%- set grain_seconds = {'day': 86400, 'week': 604800} -%}

with configured as (

    {% if initiatives | length == 0 -%}
        select
            cast(null as {{ dbt.type_string() }}) as initiative_key,
            cast(null as {{ dbt.type_string() }}) as target_metric_type,
            cast(null as {{ dbt.type_string() }}) as target_metric_label,
            cast(null as integer) as window_days,
            cast(null as bigint) as observation_lag_seconds,
            cast(null as {{ dbt.type_string() }}) as metric_source
        where 1 = 0
    {%- else -%}
        {%- for initiative in initiatives %}
            {%- set target = initiative.target_metric or {} -%}
            {%- set kind = target.get('type') -%}
            {%- set label = none -%}
            {%- set lag = 0 -%}
            {%- set source = none -%}
            {%- if kind == 'funnel_step' -%}
                {%- set matches = funnels | selectattr('name', 'equalto', target.funnel) | list -%}
                {%- if matches | length == 0 or target.step > matches[0].steps | length -%}
                    {{ exceptions.raise_compiler_error(initiative.key ~ ': no step ' ~ target.step ~ ' in funnel '
                        ~ target.funnel) }}
                {%- endif -%}
                {%- set step_event = matches[0].steps[target.step - 1].event -%}
                {%- set label = target.funnel ~ ': step ' ~ target.step ~ ' ' ~ step_event -%}
                {%- set lag = matches[0].conversion_window_seconds | int -%}
                {%- set source = 'events' -%}
            {%- elif kind == 'retention' -%}
                {%- set matches = retentions | selectattr('name', 'equalto', target.retention) | list -%}
                {%- if matches | length == 0 or matches[0].period not in grain_seconds -%}
                    {{ exceptions.raise_compiler_error(initiative.key ~ ': retention ' ~ target.retention
                        ~ ' is not configured with a day or week grain') }}
                {%- endif -%}
                {%- set label = target.retention ~ ': ' ~ matches[0].period ~ ' ' ~ target.period ~ ' '
                    ~ matches[0].return_event -%}
                {%- set lag = (target.period + 1) * grain_seconds[matches[0].period] -%}
                {%- set source = 'events' -%}
            {%- elif kind == 'nps' -%}
                {%- set label = 'nps' -%}
                {%- set source = 'nps_responses' -%}
            {%- elif kind == 'revenue' -%}
                {%- set label = 'net revenue per paying customer (' ~ var('reporting_currency') ~ ')' -%}
                {%- set source = 'invoices' -%}
            {%- endif %}
            select
                {{ sql_string_literal(initiative.key) }} as initiative_key,
                cast({{ sql_literal(kind) }} as {{ dbt.type_string() }}) as target_metric_type,
                cast({{ sql_literal(label) }} as {{ dbt.type_string() }}) as target_metric_label,
                cast({{ initiative.window_days | int }} as integer) as window_days,
                cast({{ lag }} as bigint) as observation_lag_seconds,
                cast({{ sql_literal(source) }} as {{ dbt.type_string() }}) as metric_source
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    {%- endif %}

),

source_watermarks as (

    select
        'events' as metric_source,
        max(sessionized.event_at) as data_as_of
    from {{ ref('int_events_sessionized') }} as sessionized

    union all

    select
        'nps_responses' as metric_source,
        max(responses.responded_at) as data_as_of
    from {{ ref('stg_feedback__survey_responses') }} as responses
    where responses.survey_type = 'nps'

    union all

    select
        'invoices' as metric_source,
        max(coalesce(invoices.paid_at, invoices.created_at)) as data_as_of
    from {{ ref('stg_billing__invoices') }} as invoices

),

windows as (

    select
        configured.initiative_key,
        initiatives.summary,
        initiatives.shipped_at is not null as is_shipped,
        initiatives.shipped_at,
        initiatives.ship_date,
        configured.target_metric_type,
        configured.target_metric_label,
        configured.window_days,
        {{ dbt.dateadd('day', '-1 * configured.window_days', 'initiatives.shipped_at') }} as before_window_start,
        {{ dbt.dateadd('day', 'configured.window_days', 'initiatives.shipped_at') }} as after_window_end,
        configured.observation_lag_seconds,
        configured.metric_source,
        source_watermarks.data_as_of
    from configured
    left join {{ ref('dim_initiatives') }} as initiatives
        on configured.initiative_key = initiatives.initiative_key
    left join source_watermarks
        on configured.metric_source = source_watermarks.metric_source

)

select
    windows.initiative_key,
    windows.summary,
    windows.is_shipped,
    windows.shipped_at,
    windows.ship_date,
    windows.target_metric_type,
    windows.target_metric_label,
    windows.window_days,
    case when windows.is_shipped then windows.before_window_start end as before_window_start,
    case when windows.is_shipped then windows.after_window_end end as after_window_end,
    windows.observation_lag_seconds,
    windows.metric_source,
    windows.data_as_of,
    coalesce(
        windows.is_shipped
        and {{ dbt.dateadd('second', 'windows.observation_lag_seconds', 'windows.after_window_end') }}
        <= windows.data_as_of,
        false
    ) as is_window_complete
from windows
