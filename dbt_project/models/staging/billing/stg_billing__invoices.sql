{#-
    Billing invoices: one row per invoice_id, the copy from the latest ingested export (an open invoice is later
    re-exported paid or void). Amounts stay integer minor units of `currency` (upper-cased); conversion to the
    reporting currency happens once, downstream, in to_reporting_currency().
-#}

with source_invoices as (

    select * from {{ lake_source('billing', 'invoices') }}

),

renamed as (

    select
        cast(invoice_id as {{ dbt.type_string() }}) as invoice_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(nullif(trim(subscription_id), '') as {{ dbt.type_string() }}) as subscription_id,
        cast(lower(trim(status)) as {{ dbt.type_string() }}) as status,
        cast(lower(trim(billing_reason)) as {{ dbt.type_string() }}) as billing_reason,
        cast(upper(trim(currency)) as {{ dbt.type_string() }}) as currency,
        cast(subtotal_minor as {{ dbt.type_bigint() }}) as subtotal_minor,
        cast(coalesce(discount_minor, 0) as {{ dbt.type_bigint() }}) as discount_minor,
        cast(coalesce(tax_minor, 0) as {{ dbt.type_bigint() }}) as tax_minor,
        cast(total_minor as {{ dbt.type_bigint() }}) as total_minor,
        cast(amount_paid_minor as {{ dbt.type_bigint() }}) as amount_paid_minor,
        cast(starting_balance_minor as {{ dbt.type_bigint() }}) as starting_balance_minor,
        cast(period_start as {{ dbt.type_timestamp() }}) as period_start,
        cast(period_end as {{ dbt.type_timestamp() }}) as period_end,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(paid_at as {{ dbt.type_timestamp() }}) as paid_at,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source_invoices
    where invoice_id is not null

),

ranked_versions as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.invoice_id
            order by renamed.ingested_at desc, renamed.file_sha256 desc, renamed.source_record_number desc
        ) as version_rank
    from renamed

)

select
    ranked_versions.invoice_id,
    ranked_versions.customer_id,
    ranked_versions.subscription_id,
    ranked_versions.status,
    ranked_versions.billing_reason,
    ranked_versions.currency,
    ranked_versions.subtotal_minor,
    ranked_versions.discount_minor,
    ranked_versions.tax_minor,
    ranked_versions.total_minor,
    ranked_versions.amount_paid_minor,
    ranked_versions.starting_balance_minor,
    ranked_versions.period_start,
    ranked_versions.period_end,
    ranked_versions.created_at,
    ranked_versions.paid_at,
    ranked_versions.source_file,
    ranked_versions.file_sha256,
    ranked_versions.ingested_at
from ranked_versions
where ranked_versions.version_rank = 1
