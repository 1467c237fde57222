{#-
    Net Promoter Score per survey month and segment (DESIGN.md): NPS = % promoters (9-10) - % detractors (0-6),
    in percentage points, from responses to NPS surveys (survey_type = 'nps') only.

    Each response counts in four rows of its month: its (plan, platform), its plan over all platforms, its platform
    over all plans, and the month's total; '(all)' marks the dimension summed over. A response without a plan or
    platform is in the '(unknown)' segment of that dimension, so totals always equal the sum of their segments.

    95 % confidence interval from the multinomial: NPS = 100 (p_pro - p_det) has variance
    (p_pro + p_det - (p_pro - p_det)^2) / n, so CI = NPS +- 1.96 * 100 * sqrt(that), clamped to [-100, 100]
    (the normal approximation can overshoot the scale on small n).
-#}

with nps_responses as (

    select
        cast({{ dbt.date_trunc('month', 'responses.responded_at') }} as date) as period_start,
        coalesce(responses.segment_plan, '(unknown)') as segment_plan,
        coalesce(responses.segment_platform, '(unknown)') as segment_platform,
        case when responses.score >= 9 then 1 else 0 end as is_promoter,
        case when responses.score between 7 and 8 then 1 else 0 end as is_passive,
        case when responses.score <= 6 then 1 else 0 end as is_detractor
    from {{ ref('stg_feedback__survey_responses') }} as responses
    where responses.survey_type = 'nps' and responses.score is not null and responses.responded_at is not null

),

segment_rollups as (

    {{ segment_rollups() }}

),

counts as (

    select
        nps_responses.period_start,
        case when segment_rollups.by_plan then nps_responses.segment_plan else '(all)' end as segment_plan,
        case
            when segment_rollups.by_platform then nps_responses.segment_platform else '(all)'
        end as segment_platform,
        count(*) as responses,
        sum(nps_responses.is_promoter) as promoters,
        sum(nps_responses.is_passive) as passives,
        sum(nps_responses.is_detractor) as detractors
    from nps_responses
    cross join segment_rollups
    group by
        nps_responses.period_start,
        case when segment_rollups.by_plan then nps_responses.segment_plan else '(all)' end,
        case when segment_rollups.by_platform then nps_responses.segment_platform else '(all)' end

),

shares as (

    select
        counts.*,
        cast(counts.promoters as double) / counts.responses as promoter_share,
        cast(counts.detractors as double) / counts.responses as detractor_share
    from counts

),

scored as (

    select
        shares.*,
        100.0 * (shares.promoter_share - shares.detractor_share) as nps,
        -- n * Var(p_pro - p_det) of the multinomial
        shares.promoter_share + shares.detractor_share
        - (shares.promoter_share - shares.detractor_share) * (shares.promoter_share - shares.detractor_share)
            as unit_variance
    from shares

),

with_margin as (

    select
        scored.*,
        -- clamped at 0: never negative in theory, but rounding can give -1e-17 when every response is a promoter
        1.96 * 100.0 * sqrt(
            case when scored.unit_variance > 0 then scored.unit_variance / scored.responses else 0 end
        ) as margin_of_error
    from scored

)

select
    cast(with_margin.period_start as date) as period_start,
    cast(with_margin.segment_plan as {{ dbt.type_string() }}) as segment_plan,
    cast(with_margin.segment_platform as {{ dbt.type_string() }}) as segment_platform,
    cast(with_margin.responses as {{ dbt.type_bigint() }}) as responses,
    cast(with_margin.promoters as {{ dbt.type_bigint() }}) as promoters,
    cast(with_margin.passives as {{ dbt.type_bigint() }}) as passives,
    cast(with_margin.detractors as {{ dbt.type_bigint() }}) as detractors,
    cast(with_margin.nps as double) as nps,
    cast(
        case
            when with_margin.nps - with_margin.margin_of_error < -100 then -100
            else with_margin.nps - with_margin.margin_of_error
        end
        as double
    ) as nps_ci_low,
    cast(
        case
            when with_margin.nps + with_margin.margin_of_error > 100 then 100
            else with_margin.nps + with_margin.margin_of_error
        end
        as double
    ) as nps_ci_high
from with_margin
