{#-
    Ad spend lines: for each (spend_date, vendor, channel, campaign), the lines of the latest ingested export that
    has it (ad platforms restate recent days, so a later export of an overlapping range wins). Every line of that
    export is kept: a credit or adjustment on the same day and campaign as its charge (a negative line next to a
    positive one) is a second line, not a restatement. The campaign is its id, else (plain spend CSVs have no ids)
    its name: keying on the id alone collapsed every plain-CSV line of a day and channel into one.

    spend is signed: a negative line is a credit or adjustment (an ad platform's invalid-click credit, a finance
    correction), is_credit says so, and fct_cac nets it against the spend of its channel and month.

    channel: the reporting channel vocabulary CAC is reported in. var('channel_map') maps the row's own channel
    name first (plain CSV channels such as "Affiliates"), then its vendor (google_ads -> paid_search); else the
    channel or vendor lower-cased. Spend stays in its own currency (major units, DECIMAL); conversion happens once,
    downstream, in to_reporting_currency().
-#}

with source_spend as (

    select * from {{ lake_source('marketing', 'spend') }}

),

renamed as (

    select
        {{ surrogate_key(['spend_date', 'vendor', 'channel', 'coalesce(campaign_id, campaign)']) }} as spend_key,
        cast(spend_date as date) as spend_date,
        cast(vendor as {{ dbt.type_string() }}) as vendor,
        cast(nullif(trim(channel), '') as {{ dbt.type_string() }}) as vendor_channel,
        coalesce(
            {{ mapped_channel('channel', pass_through=false) }},
            {{ mapped_channel('vendor', pass_through=false) }},
            {{ mapped_channel('channel') }},
            {{ mapped_channel('vendor') }}
        ) as channel,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        cast(campaign as {{ dbt.type_string() }}) as campaign,
        cast(spend as decimal(18, 6)) as spend,
        cast(upper(trim(currency)) as {{ dbt.type_string() }}) as currency,
        cast(impressions as {{ dbt.type_bigint() }}) as impressions,
        cast(clicks as {{ dbt.type_bigint() }}) as clicks,
        cast(_source_file as {{ dbt.type_string() }}) as source_file,
        cast(_source_format as {{ dbt.type_string() }}) as source_format,
        cast(_record_number as {{ dbt.type_bigint() }}) as source_record_number,
        cast(_file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from source_spend
    where spend_date is not null

),

ranked_versions as (

    select
        renamed.*,
        dense_rank() over (
            partition by renamed.spend_key
            order by renamed.ingested_at desc, renamed.file_sha256 desc
        ) as version_rank
    from renamed

)

select
    {{ surrogate_key([
        'ranked_versions.spend_key', 'ranked_versions.file_sha256', 'ranked_versions.source_record_number'
    ]) }} as spend_id,
    ranked_versions.spend_key,
    ranked_versions.spend_date,
    ranked_versions.vendor,
    ranked_versions.vendor_channel,
    ranked_versions.channel,
    ranked_versions.campaign_id,
    ranked_versions.campaign,
    ranked_versions.spend,
    ranked_versions.spend < 0 as is_credit,
    ranked_versions.currency,
    ranked_versions.impressions,
    ranked_versions.clicks,
    ranked_versions.source_file,
    ranked_versions.source_format,
    ranked_versions.file_sha256,
    ranked_versions.source_record_number,
    ranked_versions.ingested_at
from ranked_versions
where ranked_versions.version_rank = 1
