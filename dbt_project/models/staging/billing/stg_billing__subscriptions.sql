{#-
    Billing subscriptions: one row per subscription_id, in its state as of the latest ingested export. This is the
    CURRENT state only (plan, price, cancellation); the history of what was billed when lives in the invoice lines,
    which is what MRR is built from (int_subscription_mrr_segments). Status and interval lower-cased, currency
    upper-cased.
-#}

with source_subscriptions as (

    select * from {{ lake_source('billing', 'subscriptions') }}

),

renamed as (

    select
        cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(lower(trim(status)) as {{ dbt.type_string() }}) as status,
        cast(plan_id as {{ dbt.type_string() }}) as plan_id,
        cast(plan_nickname as {{ dbt.type_string() }}) as plan_nickname,
        cast(lower(trim(plan_interval)) as {{ dbt.type_string() }}) as plan_interval,
        cast(coalesce(plan_interval_count, 1) as {{ dbt.type_int() }}) as plan_interval_count,
        cast(unit_amount_minor as {{ dbt.type_bigint() }}) as unit_amount_minor,
        cast(upper(trim(currency)) as {{ dbt.type_string() }}) as currency,
        cast(coalesce(quantity, 1) as {{ dbt.type_int() }}) as quantity,
        cast(discount_percent_off as decimal(9, 4)) as discount_percent_off,
        cast(discount_amount_off_minor as {{ dbt.type_bigint() }}) as discount_amount_off_minor,
        cast(trial_start as {{ dbt.type_timestamp() }}) as trial_start,
        cast(trial_end as {{ dbt.type_timestamp() }}) as trial_end,
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(current_period_start as {{ dbt.type_timestamp() }}) as current_period_start,
        cast(current_period_end as {{ dbt.type_timestamp() }}) as current_period_end,
        coalesce(cast(cancel_at_period_end as boolean), false) as cancel_at_period_end,
        cast(canceled_at as {{ dbt.type_timestamp() }}) as canceled_at,
        cast(ended_at as {{ dbt.type_timestamp() }}) as ended_at,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source_subscriptions
    where subscription_id is not null

),

ranked_versions as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.subscription_id
            order by renamed.ingested_at desc, renamed.file_sha256 desc, renamed.source_record_number desc
        ) as version_rank
    from renamed

)

select
    ranked_versions.subscription_id,
    ranked_versions.customer_id,
    ranked_versions.status,
    ranked_versions.plan_id,
    ranked_versions.plan_nickname,
    ranked_versions.plan_interval,
    ranked_versions.plan_interval_count,
    ranked_versions.unit_amount_minor,
    ranked_versions.currency,
    ranked_versions.quantity,
    ranked_versions.discount_percent_off,
    ranked_versions.discount_amount_off_minor,
    ranked_versions.trial_start,
    ranked_versions.trial_end,
    ranked_versions.started_at,
    ranked_versions.current_period_start,
    ranked_versions.current_period_end,
    ranked_versions.cancel_at_period_end,
    ranked_versions.canceled_at,
    ranked_versions.ended_at,
    ranked_versions.created_at,
    ranked_versions.source_file,
    ranked_versions.file_sha256,
    ranked_versions.ingested_at
from ranked_versions
where ranked_versions.version_rank = 1
