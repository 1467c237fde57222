{#-
    Feature requests (Productboard notes, Zendesk tickets): one row per (vendor, request_id), the copy from the
    latest ingested export (a ticket's status, links and text change between exports).
-#}

with source_requests as (

    select * from {{ lake_source('feedback', 'feature_requests') }}

),

renamed as (

    select
        {{ surrogate_key(['vendor', 'request_id']) }} as feature_request_id,
        cast(request_id as {{ dbt.type_string() }}) as request_id,
        cast(vendor as {{ dbt.type_string() }}) as vendor,
        cast(title as {{ dbt.type_string() }}) as title,
        cast(content as {{ dbt.type_string() }}) as content,
        {{ respondent_key('user_id', 'respondent_email_hash', 'request_id') }} as respondent_key,
        cast(nullif(trim(respondent_id), '') as {{ dbt.type_string() }}) as respondent_id,
        cast(nullif(trim(respondent_email_hash), '') as {{ dbt.type_string() }}) as respondent_email_hash,
        cast(nullif(trim(user_id), '') as {{ dbt.type_string() }}) as user_id,
        cast(nullif(trim(account_id), '') as {{ dbt.type_string() }}) as account_id,
        cast(account_name as {{ dbt.type_string() }}) as account_name,
        tags,
        cast(upper(nullif(trim(jira_key), '')) as {{ dbt.type_string() }}) as jira_key,
        cast(nullif(trim(feature_name), '') as {{ dbt.type_string() }}) as feature_name,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(lower(trim(satisfaction)) as {{ dbt.type_string() }}) as satisfaction,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_source_format as {{ dbt.type_string() }}) as source_format,
        cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source_requests
    where request_id is not null

),

ranked_copies as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.feature_request_id
            order by renamed.ingested_at desc, renamed.file_sha256 desc, renamed.source_record_number desc
        ) as copy_rank
    from renamed

)

select
    ranked_copies.feature_request_id,
    ranked_copies.request_id,
    ranked_copies.vendor,
    ranked_copies.title,
    ranked_copies.content,
    ranked_copies.respondent_key,
    ranked_copies.respondent_id,
    ranked_copies.respondent_email_hash,
    ranked_copies.user_id,
    ranked_copies.account_id,
    ranked_copies.account_name,
    ranked_copies.tags,
    ranked_copies.jira_key,
    ranked_copies.feature_name,
    ranked_copies.channel,
    ranked_copies.status,
    ranked_copies.satisfaction,
    ranked_copies.created_at,
    ranked_copies.source_file,
    ranked_copies.source_format,
    ranked_copies.file_sha256,
    ranked_copies.ingested_at
from ranked_copies
where ranked_copies.copy_rank = 1
