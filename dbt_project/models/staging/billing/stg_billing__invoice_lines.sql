{#-
    Billing invoice lines: one row per (invoice_id, line_id), the copy from the latest ingested export. A plan
    change shows as proration lines (negative credit for the unused old plan, positive charge for the new one).
-#}

with source_lines as (

    select * from {{ lake_source('billing', 'invoice_lines') }}

),

renamed as (

    select
        {{ surrogate_key(['invoice_id', 'line_id']) }} as invoice_line_id,
        cast(invoice_id as {{ dbt.type_string() }}) as invoice_id,
        cast(line_id as {{ dbt.type_string() }}) as line_id,
        cast(nullif(trim(subscription_id), '') as {{ dbt.type_string() }}) as subscription_id,
        cast(plan_id as {{ dbt.type_string() }}) as plan_id,
        cast(lower(trim(plan_interval)) as {{ dbt.type_string() }}) as plan_interval,
        cast(description as {{ dbt.type_string() }}) as description,
        cast(amount_minor as {{ dbt.type_bigint() }}) as amount_minor,
        cast(upper(trim(currency)) as {{ dbt.type_string() }}) as currency,
        cast(coalesce(quantity, 1) as {{ dbt.type_int() }}) as quantity,
        coalesce(cast(proration as boolean), false) as is_proration,
        cast(period_start as {{ dbt.type_timestamp() }}) as period_start,
        cast(period_end as {{ dbt.type_timestamp() }}) as period_end,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source_lines
    where invoice_id is not null and line_id is not null

),

ranked_versions as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.invoice_line_id
            order by renamed.ingested_at desc, renamed.file_sha256 desc, renamed.source_record_number desc
        ) as version_rank
    from renamed

)

select
    ranked_versions.invoice_line_id,
    ranked_versions.invoice_id,
    ranked_versions.line_id,
    ranked_versions.subscription_id,
    ranked_versions.plan_id,
    ranked_versions.plan_interval,
    ranked_versions.description,
    ranked_versions.amount_minor,
    ranked_versions.currency,
    ranked_versions.quantity,
    ranked_versions.is_proration,
    ranked_versions.period_start,
    ranked_versions.period_end,
    ranked_versions.source_file,
    ranked_versions.file_sha256,
    ranked_versions.ingested_at
from ranked_versions
where ranked_versions.version_rank = 1
