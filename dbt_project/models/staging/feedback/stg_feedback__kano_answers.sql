{#-
    Kano questionnaire answers: one row per (response_id, feature), the copy from the latest ingested export.
    Answers are lower-cased into the contract's vocabulary (like, expect, neutral, live_with, dislike).
-#}

with source_answers as (

    select * from {{ lake_source('feedback', 'kano_answers') }}

),

renamed as (

    select
        {{ surrogate_key(['response_id', 'feature']) }} as kano_answer_id,
        cast(response_id as {{ dbt.type_string() }}) as response_id,
        cast(feature as {{ dbt.type_string() }}) as feature,
        {{ respondent_key('user_id', 'respondent_email_hash', 'response_id') }} as respondent_key,
        cast(nullif(trim(respondent_id), '') as {{ dbt.type_string() }}) as respondent_id,
        cast(nullif(trim(respondent_email_hash), '') as {{ dbt.type_string() }}) as respondent_email_hash,
        cast(nullif(trim(user_id), '') as {{ dbt.type_string() }}) as user_id,
        cast(lower(trim(functional_answer)) as {{ dbt.type_string() }}) as functional_answer,
        cast(lower(trim(dysfunctional_answer)) as {{ dbt.type_string() }}) as dysfunctional_answer,
        cast(importance as {{ dbt.type_int() }}) as importance,
        cast(answered_at as {{ dbt.type_timestamp() }}) as answered_at,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_source_format as {{ dbt.type_string() }}) as source_format,
        cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source_answers
    where response_id is not null and feature is not null

),

ranked_copies as (

    select
        renamed.*,
        row_number() over (
            partition by renamed.kano_answer_id
            order by renamed.ingested_at desc, renamed.file_sha256 desc, renamed.source_record_number desc
        ) as copy_rank
    from renamed

)

select
    ranked_copies.kano_answer_id,
    ranked_copies.response_id,
    ranked_copies.feature,
    ranked_copies.respondent_key,
    ranked_copies.respondent_id,
    ranked_copies.respondent_email_hash,
    ranked_copies.user_id,
    ranked_copies.functional_answer,
    ranked_copies.dysfunctional_answer,
    ranked_copies.importance,
    ranked_copies.answered_at,
    ranked_copies.source_file,
    ranked_copies.source_format,
    ranked_copies.file_sha256,
    ranked_copies.ingested_at
from ranked_copies
where ranked_copies.copy_rank = 1
