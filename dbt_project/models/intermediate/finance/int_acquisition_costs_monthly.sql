{#-
    Acquisition cost inputs per month and channel, plus one 'blended' row per month, unrounded: fct_cac publishes
    them rounded and fct_unit_economics divides the unrounded values (rounding happens once, in the published
    columns).

    Netting rule for credits and adjustments (negative spend lines, stg_marketing__spend.is_credit): a credit
    counts in the month of its own spend_date and the channel it is booked to, whatever charge it corrects.
    gross_spend sums the month's charges, credits its credits and adjustments (<= 0), spend = gross_spend + credits
    (the net the month cost). Blended sums every channel's.

    cac_status names the convention of each row, so that no value without meaning reads as a number:
    - measured: net spend > 0 and new paying customers > 0; cac = spend / new_paying_customers.
    - no_customers: net spend > 0 and no new paying customer; no per-customer cost exists.
    - no_spend: net spend = 0 (no spend line, or lines netting to exactly 0): customers came without paid
      acquisition (organic, referral, unattributed), and a CAC of 0 would read as free acquisition.
    - net_credit: net spend < 0, credits exceed the month's charges; a negative CAC has no meaning.
    cac is NULL in every status but measured; nothing is ever divided by zero.
-#}

with spend as (

    select
        {{ month_start('spend_rows.spend_date') }} as month_start,
        spend_rows.channel,
        sum(
            case
                when not spend_rows.is_credit
                    then {{ to_reporting_currency('spend_rows.spend', 'spend_rows.currency', units='major') }}
                else 0
            end
        ) as gross_spend,
        sum(
            case
                when spend_rows.is_credit
                    then {{ to_reporting_currency('spend_rows.spend', 'spend_rows.currency', units='major') }}
                else 0
            end
        ) as credits
    from {{ ref('stg_marketing__spend') }} as spend_rows
    group by {{ month_start('spend_rows.spend_date') }}, spend_rows.channel

),

new_customers as (

    select
        acquisitions.cohort_month as month_start,
        acquisitions.channel,
        count(*) as new_paying_customers
    from {{ ref('fct_customer_acquisition') }} as acquisitions
    group by acquisitions.cohort_month, acquisitions.channel

),

by_channel as (

    select
        coalesce(spend.month_start, new_customers.month_start) as month_start,
        coalesce(spend.channel, new_customers.channel) as channel,
        false as is_blended,
        coalesce(spend.gross_spend, 0) as gross_spend,
        coalesce(spend.credits, 0) as credits,
        coalesce(new_customers.new_paying_customers, 0) as new_paying_customers
    from spend
    full outer join new_customers
        on
            spend.month_start = new_customers.month_start
            and spend.channel = new_customers.channel

),

blended as (

    select
        by_channel.month_start,
        'blended' as channel,
        true as is_blended,
        sum(by_channel.gross_spend) as gross_spend,
        sum(by_channel.credits) as credits,
        sum(by_channel.new_paying_customers) as new_paying_customers
    from by_channel
    group by by_channel.month_start

),

channel_rows as (

    select * from by_channel
    union all
    select * from blended

),

combined as (

    select
        channel_rows.month_start,
        channel_rows.channel,
        channel_rows.is_blended,
        cast(channel_rows.gross_spend as decimal(38, 10)) as gross_spend,
        cast(channel_rows.credits as decimal(38, 10)) as credits,
        cast(channel_rows.gross_spend + channel_rows.credits as decimal(38, 10)) as spend,
        channel_rows.new_paying_customers
    from channel_rows

)

select
    combined.month_start,
    combined.channel,
    combined.is_blended,
    combined.gross_spend,
    combined.credits,
    combined.spend,
    cast(combined.new_paying_customers as bigint) as new_paying_customers,
    case
        when combined.spend < 0 then 'net_credit'
        when combined.spend = 0 then 'no_spend'
        when combined.new_paying_customers = 0 then 'no_customers'
        else 'measured'
    end as cac_status,
    case
        when combined.spend > 0 and combined.new_paying_customers > 0
            then {{ divide_decimal('combined.spend', 'combined.new_paying_customers') }}
    end as cac
from combined
