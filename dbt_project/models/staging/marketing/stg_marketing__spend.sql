{#-
    Ad spend: one row per (spend_date, vendor, channel, campaign), the copy from the latest ingested export (ad
    platforms restate recent days, so a later export of an overlapping range wins). The campaign is its id, else
    (plain spend CSVs have no ids) its name: keying on the id alone collapsed every plain-CSV line of a day and
    channel into one (two sales lines on the same date kept only the last).

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
        {{ surrogate_key(['spend_date', 'vendor', 'channel', 'coalesce(campaign_id, campaign)']) }} as spend_id,
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
        row_number() over (
            partition by renamed.spend_id
            order by renamed.ingested_at desc, renamed.file_sha256 desc, renamed.source_record_number desc
        ) as version_rank
    from renamed

)

select
    ranked_versions.spend_id,
    ranked_versions.spend_date,
    ranked_versions.vendor,
    ranked_versions.vendor_channel,
    ranked_versions.channel,
    ranked_versions.campaign_id,
    ranked_versions.campaign,
    ranked_versions.spend,
    ranked_versions.currency,
    ranked_versions.impressions,
    ranked_versions.clicks,
    ranked_versions.source_file,
    ranked_versions.source_format,
    ranked_versions.file_sha256,
    ranked_versions.ingested_at
from ranked_versions
where ranked_versions.version_rank = 1
