{#- Every month, new + expansion + contraction + churn + reactivation MRR equals the change in total MRR from the
    previous month (months without any MRR row count as 0). Returns the months where it does not. -#}
{#- Several parents: dagster-dbt attaches the test as a blocking check to fct_mrr, the mart it guards. -#}
{{ config(meta={'dagster': {'ref': {'name': 'fct_mrr'}}}) }}

with months as (

    select finance_months.month_start from {{ ref('int_finance_months_spined') }} as finance_months

),

totals as (

    select
        months.month_start,
        coalesce(sum(mrr.mrr), 0) as total_mrr,
        coalesce(
            sum(
                mrr.new_mrr + mrr.expansion_mrr + mrr.contraction_mrr + mrr.churned_mrr + mrr.reactivation_mrr
            ),
            0
        ) as total_movements
    from months
    left join {{ ref('fct_mrr') }} as mrr
        on months.month_start = mrr.month_start
    group by months.month_start

),

changes as (

    select
        totals.month_start,
        totals.total_mrr,
        totals.total_movements,
        totals.total_mrr - coalesce(lag(totals.total_mrr) over (order by totals.month_start), 0) as mrr_change
    from totals

)

select
    changes.month_start,
    changes.total_mrr,
    changes.mrr_change,
    changes.total_movements
from changes
where changes.total_movements != changes.mrr_change
