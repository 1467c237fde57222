{#-
    Customer satisfaction per survey month and segment (DESIGN.md): CSAT = share of responses scoring 4 or 5 on
    the 5-point scale, from CSAT surveys (survey_type = 'csat') only. Segments and '(all)' totals as in fct_nps.

    95 % Wilson score interval (z = 1.96) rather than the normal one: it stays inside [0, 1] and is not zero-width
    when every response is satisfied, which is common for small segments.
-#}

{%- set z = 1.96 -%}
{%- set z_squared = 3.8416 -%}

with csat_responses as (

    select
        cast({{ dbt.date_trunc('month', 'responses.responded_at') }} as date) as period_start,
        coalesce(responses.segment_plan, '(unknown)') as segment_plan,
        coalesce(responses.segment_platform, '(unknown)') as segment_platform,
        case when responses.score >= 4 then 1 else 0 end as is_satisfied
    from {{ ref('stg_feedback__survey_responses') }} as responses
    where
        responses.survey_type = 'csat'
        and responses.score is not null
        and responses.responded_at is not null
        -- DESIGN.md's CSAT is on a 5-point scale; binary ratings (Zendesk good/bad) are another measure.
        and responses.scale_min = 1
        and responses.scale_max = 5

),

segment_rollups as (

    {{ segment_rollups() }}

),

counts as (

    select
        csat_responses.period_start,
        case when segment_rollups.by_plan then csat_responses.segment_plan else '(all)' end as segment_plan,
        case
            when segment_rollups.by_platform then csat_responses.segment_platform else '(all)'
        end as segment_platform,
        count(*) as responses,
        sum(csat_responses.is_satisfied) as satisfied
    from csat_responses
    cross join segment_rollups
    group by
        csat_responses.period_start,
        case when segment_rollups.by_plan then csat_responses.segment_plan else '(all)' end,
        case when segment_rollups.by_platform then csat_responses.segment_platform else '(all)' end

),

shares as (

    select
        counts.*,
        cast(counts.satisfied as double) / counts.responses as csat
    from counts

),

wilson as (

    select
        shares.*,
        (shares.csat + {{ z_squared }} / (2.0 * shares.responses))
        / (1 + {{ z_squared }} / shares.responses) as wilson_centre,
        {{ z }} * sqrt(
            shares.csat * (1 - shares.csat) / shares.responses
            + {{ z_squared }} / (4.0 * shares.responses * shares.responses)
        )
        / (1 + {{ z_squared }} / shares.responses) as wilson_half_width
    from shares

)

select
    cast(wilson.period_start as date) as period_start,
    cast(wilson.segment_plan as {{ dbt.type_string() }}) as segment_plan,
    cast(wilson.segment_platform as {{ dbt.type_string() }}) as segment_platform,
    cast(wilson.responses as {{ dbt.type_bigint() }}) as responses,
    cast(wilson.satisfied as {{ dbt.type_bigint() }}) as satisfied,
    cast(wilson.csat as double) as csat,
    cast(
        case
            when wilson.wilson_centre - wilson.wilson_half_width < 0 then 0
            else wilson.wilson_centre - wilson.wilson_half_width
        end
        as double
    ) as csat_ci_low,
    cast(
        case
            when wilson.wilson_centre + wilson.wilson_half_width > 1 then 1
            else wilson.wilson_centre + wilson.wilson_half_width
        end
        as double
    ) as csat_ci_high
-- the Wilson interval lies inside [0, 1]; the clamps only absorb floating-point rounding at its ends
from wilson
