{#-
    One row per initiative of var('initiatives'): did its target metric move after it shipped, by more than
    noise?
    The full reasoning is the docs block fct_initiative_outcomes in portfolio/_portfolio__docs.md.
-#}

with windows as (

    select * from {{ ref('int_initiative_windows_defined') }}

),

measured as (

    select * from {{ ref('int_initiative_outcome_windows_measured') }}

),

sides as (

    select
        windows.initiative_key,
        before_side.sample_size as before_sample_size,
        before_side.successes as before_successes,
        before_side.mean_outcome as before_mean,
        before_side.variance_population as before_variance_population,
        before_side.variance_sample as before_variance_sample,
        after_side.sample_size as after_sample_size,
        after_side.successes as after_successes,
        after_side.mean_outcome as after_mean,
        after_side.variance_population as after_variance_population,
        after_side.variance_sample as after_variance_sample
    from windows
    left join measured as before_side
        on windows.initiative_key = before_side.initiative_key and before_side.window_side = 'before'
    left join measured as after_side
        on windows.initiative_key = after_side.initiative_key and after_side.window_side = 'after'
    where windows.is_shipped

),

values_and_errors as (

    select
        sides.*,
        case
            when windows.target_metric_type in ('funnel_step', 'retention') and sides.before_sample_size > 0
                then cast(sides.before_successes as double) / sides.before_sample_size
            when windows.target_metric_type = 'nps' then 100.0 * sides.before_mean
            when windows.target_metric_type = 'revenue' then sides.before_mean
        end as before_value,
        case
            when windows.target_metric_type in ('funnel_step', 'retention') and sides.after_sample_size > 0
                then cast(sides.after_successes as double) / sides.after_sample_size
            when windows.target_metric_type = 'nps' then 100.0 * sides.after_mean
            when windows.target_metric_type = 'revenue' then sides.after_mean
        end as after_value,
        -- The variance of each side's value divided by its sample size (squared standard errors).
        case
            when windows.target_metric_type in ('funnel_step', 'retention')
                then sides.before_mean * (1.0 - sides.before_mean) / nullif(sides.before_sample_size, 0)
            when windows.target_metric_type = 'nps'
                then 10000.0 * sides.before_variance_population / nullif(sides.before_sample_size, 0)
            when windows.target_metric_type = 'revenue'
                then sides.before_variance_sample / nullif(sides.before_sample_size, 0)
        end as before_squared_error,
        case
            when windows.target_metric_type in ('funnel_step', 'retention')
                then sides.after_mean * (1.0 - sides.after_mean) / nullif(sides.after_sample_size, 0)
            when windows.target_metric_type = 'nps'
                then 10000.0 * sides.after_variance_population / nullif(sides.after_sample_size, 0)
            when windows.target_metric_type = 'revenue'
                then sides.after_variance_sample / nullif(sides.after_sample_size, 0)
        end as after_squared_error,
        case
            when windows.target_metric_type in ('funnel_step', 'retention')
                and sides.before_sample_size > 0 and sides.after_sample_size > 0
                then
                    cast(sides.before_successes + sides.after_successes as double)
                    / (sides.before_sample_size + sides.after_sample_size)
        end as pooled_rate
    from sides
    inner join windows
        on sides.initiative_key = windows.initiative_key

),

effects as (

    select
        values_and_errors.*,
        values_and_errors.after_value - values_and_errors.before_value as effect,
        sqrt(values_and_errors.before_squared_error + values_and_errors.after_squared_error) as standard_error,
        sqrt(
            values_and_errors.pooled_rate * (1.0 - values_and_errors.pooled_rate)
            * (1.0 / values_and_errors.before_sample_size + 1.0 / values_and_errors.after_sample_size)
        ) as pooled_standard_error,
        -- Welch-Satterthwaite degrees of freedom (revenue only; NULL without variance on both sides)
        case
            when
                values_and_errors.before_sample_size > 1 and values_and_errors.after_sample_size > 1
                and values_and_errors.before_squared_error + values_and_errors.after_squared_error > 0
                then
                    power(values_and_errors.before_squared_error + values_and_errors.after_squared_error, 2)
                    / (
                        power(values_and_errors.before_squared_error, 2) / (values_and_errors.before_sample_size - 1)
                        + power(values_and_errors.after_squared_error, 2) / (values_and_errors.after_sample_size - 1)
                    )
        end as welch_degrees_of_freedom
    from values_and_errors

),

test_statistics as (

    select
        effects.*,
        case
            when windows.target_metric_type in ('funnel_step', 'retention') and effects.pooled_standard_error > 0
                then effects.effect / effects.pooled_standard_error
            when windows.target_metric_type in ('nps', 'revenue') and effects.standard_error > 0
                then effects.effect / effects.standard_error
        end as test_statistic,
        case
            when windows.target_metric_type = 'revenue'
                then {{ t_quantile_975('effects.welch_degrees_of_freedom') }} * effects.standard_error
            else {{ z_975() }} * effects.standard_error
        end as margin
    from effects
    inner join windows
        on effects.initiative_key = windows.initiative_key

),

statistics as (

    select
        test_statistics.*,
        -- A variance of 0 on both sides: no noise, so any difference is certain and none is none.
        case
            when test_statistics.effect is null then null
            when test_statistics.test_statistic is null
                then case when test_statistics.effect = 0 then 1.0 else 0.0 end
            when windows.target_metric_type = 'revenue'
                then {{ t_two_sided_p_value(
                    'test_statistics.test_statistic', 'test_statistics.welch_degrees_of_freedom'
                ) }}
            else {{ normal_two_sided_p_value('test_statistics.test_statistic') }}
        end as p_value,
        case
            when test_statistics.effect is not null and test_statistics.standard_error = 0
                then test_statistics.effect
            else test_statistics.effect - test_statistics.margin
        end as effect_ci_lower,
        case
            when test_statistics.effect is not null and test_statistics.standard_error = 0
                then test_statistics.effect
            else test_statistics.effect + test_statistics.margin
        end as effect_ci_upper
    from test_statistics
    inner join windows
        on test_statistics.initiative_key = windows.initiative_key

),

adoption_events as (

    {{ initiative_adoption_events() }}

),

after_window_events as (

    select
        windows.initiative_key,
        sessionized.user_key,
        sessionized.resolved_user_id,
        adoption_events.event_name is not null as is_adoption
    from windows
    inner join {{ ref('int_events_sessionized') }} as sessionized
        on
            sessionized.event_at >= windows.shipped_at
            and sessionized.event_at < windows.after_window_end
    left join adoption_events
        on
            windows.initiative_key = adoption_events.initiative_key
            and sessionized.event_name = adoption_events.event_name
    where windows.is_shipped

),

adopters as (

    select distinct
        after_window_events.initiative_key,
        after_window_events.user_key,
        after_window_events.resolved_user_id
    from after_window_events
    where after_window_events.is_adoption

),

adoption as (

    select
        active.initiative_key,
        active.active_users,
        coalesce(adopted.adopting_users, 0) as adopting_users,
        coalesce(accounts.adopting_accounts, 0) as adopting_accounts
    from (
        select
            after_window_events.initiative_key,
            count(distinct after_window_events.user_key) as active_users
        from after_window_events
        group by after_window_events.initiative_key
    ) as active
    left join (
        select
            adopters.initiative_key,
            count(distinct adopters.user_key) as adopting_users
        from adopters
        group by adopters.initiative_key
    ) as adopted
        on active.initiative_key = adopted.initiative_key
    left join (
        select
            adopters.initiative_key,
            count(distinct customers.customer_id) as adopting_accounts
        from adopters
        inner join {{ ref('stg_billing__customers') }} as customers
            on adopters.resolved_user_id = customers.user_id
        group by adopters.initiative_key
    ) as accounts
        on active.initiative_key = accounts.initiative_key

),

statuses as (

    select
        windows.initiative_key,
        case
            when not windows.is_shipped then 'not_shipped'
            when not windows.is_window_complete then 'provisional'
            when
                coalesce(least(statistics.before_sample_size, statistics.after_sample_size), 0)
                < {{ var('outcome_min_sample_size') | int }}
                or windows.target_metric_type is null
                then 'insufficient_data'
            else 'final'
        end as outcome_status
    from windows
    left join statistics
        on windows.initiative_key = statistics.initiative_key

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
    windows.before_window_start,
    windows.after_window_end,
    cast(statistics.before_sample_size as bigint) as before_sample_size,
    cast(statistics.before_successes as bigint) as before_successes,
    cast(statistics.before_value as double) as before_value,
    cast(statistics.after_sample_size as bigint) as after_sample_size,
    cast(statistics.after_successes as bigint) as after_successes,
    cast(statistics.after_value as double) as after_value,
    cast(statistics.effect as double) as effect,
    cast(statistics.effect_ci_lower as double) as effect_ci_lower,
    cast(statistics.effect_ci_upper as double) as effect_ci_upper,
    cast(statistics.p_value as double) as p_value,
    case
        when windows.target_metric_type in ('funnel_step', 'retention') then 'two_proportion_z'
        when windows.target_metric_type = 'nps' then 'nps_difference_z'
        when windows.target_metric_type = 'revenue' then 'welch_t'
    end as test_method,
    coalesce(
        statuses.outcome_status = 'final'
        and (statistics.effect_ci_lower > 0 or statistics.effect_ci_upper < 0),
        false
    ) as is_significant,
    windows.is_window_complete,
    statuses.outcome_status,
    cast(case when windows.is_shipped then coalesce(adoption.adopting_users, 0) end as bigint)
        as adopting_users_after,
    cast(case when windows.is_shipped then coalesce(adoption.adopting_accounts, 0) end as bigint)
        as adopting_accounts_after,
    cast(case when windows.is_shipped then coalesce(adoption.active_users, 0) end as bigint) as active_users_after,
    cast(adoption.adopting_users as double) / nullif(adoption.active_users, 0) as adoption_share_after
from windows
inner join statuses
    on windows.initiative_key = statuses.initiative_key
left join statistics
    on windows.initiative_key = statistics.initiative_key
left join adoption
    on windows.initiative_key = adoption.initiative_key
