{#-
    Billing refunds and credit notes: one row per refund_id, the copy from the latest ingested export (a pending
    refund is later re-exported succeeded or failed). amount_minor is positive: the amount given back.
-#}

with source_refunds as (

    select * from {{ lake_source('billing', 'refunds') }}

),

renamed as (

    select
        cast(refund_id as {{ dbt.type_string() }}) as refund_id,
        cast(lower(trim(kind)) as {{ dbt.type_string() }}) as kind,
        cast(nullif(trim(invoice_id), '') as {{ dbt.type_string() }}) as invoice_id,
        cast(nullif(trim(charge_id), '') as {{ dbt.type_string() }}) as charge_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(amount_minor as {{ dbt.type_bigint() }}) as amount_minor,
        cast(upper(trim(currency)) as {{ dbt.type_string() }}) as currency,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(lower(trim(status)) as {{ dbt.type_string() }}) as status,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source_refunds
    where refund_id is not null

),

ranked_versions as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.refund_id
            order by renamed.ingested_at desc, renamed.file_sha256 desc, renamed.source_record_number desc
        ) as version_rank
    from renamed

)

select
    ranked_versions.refund_id,
    ranked_versions.kind,
    ranked_versions.invoice_id,
    ranked_versions.charge_id,
    ranked_versions.customer_id,
    ranked_versions.amount_minor,
    ranked_versions.currency,
    ranked_versions.reason,
    ranked_versions.status,
    -- Refunds that gave money back (or credit notes in force); failed, canceled and voided ones did not.
    coalesce(ranked_versions.status not in ('failed', 'canceled', 'void'), true) as is_effective,
    ranked_versions.created_at,
    ranked_versions.source_file,
    ranked_versions.file_sha256,
    ranked_versions.ingested_at
from ranked_versions
where ranked_versions.version_rank = 1
