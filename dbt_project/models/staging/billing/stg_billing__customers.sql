{#-
    Billing customers: one row per customer_id, the copy from the latest ingested export (a customer's metadata
    and deletion flag change over time; the newest export knows best). Currency upper-cased to ISO 4217 as the
    rest of the project writes it; empty ids and metadata values are NULL.
-#}

with source_customers as (

    select * from {{ lake_source('billing', 'customers') }}

),

renamed as (

    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(nullif(trim(email_hash), '') as {{ dbt.type_string() }}) as email_hash,
        cast(nullif(trim(user_id), '') as {{ dbt.type_string() }}) as user_id,
        cast(nullif(trim(acquisition_channel), '') as {{ dbt.type_string() }}) as acquisition_channel,
        cast(nullif(trim(acquisition_campaign), '') as {{ dbt.type_string() }}) as acquisition_campaign,
        cast(nullif(trim(country), '') as {{ dbt.type_string() }}) as country,
        cast(upper(trim(currency)) as {{ dbt.type_string() }}) as currency,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        coalesce(cast(is_deleted as boolean), false) as is_deleted,
        cast(metadata as {{ dbt.type_string() }}) as metadata,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_source_format as {{ dbt.type_string() }}) as source_format,
        cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source_customers
    where customer_id is not null

),

ranked_versions as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.customer_id
            order by renamed.ingested_at desc, renamed.file_sha256 desc, renamed.source_record_number desc
        ) as version_rank
    from renamed

)

select
    ranked_versions.customer_id,
    ranked_versions.email_hash,
    ranked_versions.user_id,
    ranked_versions.acquisition_channel,
    ranked_versions.acquisition_campaign,
    ranked_versions.country,
    ranked_versions.currency,
    ranked_versions.created_at,
    ranked_versions.is_deleted,
    ranked_versions.metadata,
    ranked_versions.source_file,
    ranked_versions.source_format,
    ranked_versions.file_sha256,
    ranked_versions.ingested_at
from ranked_versions
where ranked_versions.version_rank = 1
