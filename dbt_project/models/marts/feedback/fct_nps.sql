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

    select
        true as by_plan,
        true as by_platform
    union all
    select
        true as by_plan,
        false as by_platform
    union all
    select
        false as by_plan,
        true as by_platform
    union all
    select
        false as by_plan,
        false as by_platform

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
        1.96 * 100.0 * sqrt(
            -- clamped at 0: the variance is never negative, but rounding can make it -1e-17 at p_pro = 1
            case
                when
                    shares.promoter_share + shares.detractor_share
                    - (shares.promoter_share - shares.detractor_share) * (shares.promoter_share - shares.detractor_share)
                    > 0
                    then (
                        shares.promoter_share + shares.detractor_share
                        - (shares.promoter_share - shares.detractor_share)
                        * (shares.promoter_share - shares.detractor_share)
                    ) / shares.responses
                else 0
            end
        ) as margin_of_error
    from shares

)

select
    cast(scored.period_start as date) as period_start,
    cast(scored.segment_plan as {{ dbt.type_string() }}) as segment_plan,
    cast(scored.segment_platform as {{ dbt.type_string() }}) as segment_platform,
    cast(scored.responses as {{ dbt.type_bigint() }}) as responses,
    cast(scored.promoters as {{ dbt.type_bigint() }}) as promoters,
    cast(scored.passives as {{ dbt.type_bigint() }}) as passives,
    cast(scored.detractors as {{ dbt.type_bigint() }}) as detractors,
    cast(scored.nps as double) as nps,
    cast(
        case when scored.nps - scored.margin_of_error < -100 then -100 else scored.nps - scored.margin_of_error end
        as double
    ) as nps_ci_low,
    cast(
        case when scored.nps + scored.margin_of_error > 100 then 100 else scored.nps + scored.margin_of_error end
        as double
    ) as nps_ci_high
from scored
