{#-
    NPS and CSAT survey responses: one row per (vendor, response_id), the copy from the latest ingested export
    (overlapping exports re-send responses; a later export has the latest edit of a comment or segment).
    Segment fields come out of the exported properties JSON; the platform takes the product's vocabulary.
-#}

with source_responses as (

    select * from {{ lake_source('feedback', 'survey_responses') }}

),

renamed as (

    select
        {{ surrogate_key(['vendor', 'response_id']) }} as survey_response_id,
        cast(response_id as {{ dbt.type_string() }}) as response_id,
        cast(vendor as {{ dbt.type_string() }}) as vendor,
        cast(lower(trim(survey_type)) as {{ dbt.type_string() }}) as survey_type,
        cast(survey_name as {{ dbt.type_string() }}) as survey_name,
        cast(score as {{ dbt.type_int() }}) as score,
        cast(scale_min as {{ dbt.type_int() }}) as scale_min,
        cast(scale_max as {{ dbt.type_int() }}) as scale_max,
        cast(comment as {{ dbt.type_string() }}) as comment,
        {{ respondent_key('user_id', 'respondent_email_hash', 'response_id') }} as respondent_key,
        cast(nullif(trim(respondent_id), '') as {{ dbt.type_string() }}) as respondent_id,
        cast(nullif(trim(respondent_email_hash), '') as {{ dbt.type_string() }}) as respondent_email_hash,
        cast(nullif(trim(user_id), '') as {{ dbt.type_string() }}) as user_id,
        cast(nullif(trim(account_id), '') as {{ dbt.type_string() }}) as account_id,
        cast(responded_at as {{ dbt.type_timestamp() }}) as responded_at,
        cast(nullif(trim({{ json_text('properties', 'plan') }}), '') as {{ dbt.type_string() }}) as segment_plan,
        {{ normalized_platform(json_text('properties', 'platform')) }} as segment_platform,
        cast(properties as {{ dbt.type_string() }}) as properties,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_source_format as {{ dbt.type_string() }}) as source_format,
        cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source_responses
    where response_id is not null

),

ranked_copies as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.survey_response_id
            order by renamed.ingested_at desc, renamed.file_sha256 desc, renamed.source_record_number desc
        ) as copy_rank
    from renamed

)

select
    ranked_copies.survey_response_id,
    ranked_copies.response_id,
    ranked_copies.vendor,
    ranked_copies.survey_type,
    ranked_copies.survey_name,
    ranked_copies.score,
    ranked_copies.scale_min,
    ranked_copies.scale_max,
    ranked_copies.comment,
    ranked_copies.respondent_key,
    ranked_copies.respondent_id,
    ranked_copies.respondent_email_hash,
    ranked_copies.user_id,
    ranked_copies.account_id,
    ranked_copies.responded_at,
    ranked_copies.segment_plan,
    ranked_copies.segment_platform,
    ranked_copies.properties,
    ranked_copies.source_file,
    ranked_copies.source_format,
    ranked_copies.file_sha256,
    ranked_copies.ingested_at
from ranked_copies
where ranked_copies.copy_rank = 1
