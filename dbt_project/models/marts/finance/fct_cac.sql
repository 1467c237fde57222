{#-
    Customer acquisition cost per month and channel, plus one 'blended' row per month over every channel.

    spend: ad spend of the month (stg_marketing__spend, by spend_date, channel mapped through var('channel_map')),
    converted to the reporting currency. new_paying_customers: customers acquired in the month
    (fct_customer_acquisition.cohort_month) through that channel; blended counts every new customer, attributed or
    not. cac = spend / new_paying_customers ONLY where there were new customers; NULL otherwise (spend with no
    customer has no per-customer cost, and nothing is ever divided by zero). A channel with customers but no spend
    (organic, unattributed) has spend 0 and cac 0.
-#}

with spend as (

    select
        {{ month_start('spend_rows.spend_date') }} as month_start,
        spend_rows.channel,
        sum({{ to_reporting_currency('spend_rows.spend', 'spend_rows.currency', units='major') }}) as spend
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
        coalesce(spend.spend, 0) as spend,
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
        sum(by_channel.spend) as spend,
        sum(by_channel.new_paying_customers) as new_paying_customers
    from by_channel
    group by by_channel.month_start

),

combined as (

    select * from by_channel
    union all
    select * from blended

)

select
    cast({{ surrogate_key(['combined.month_start', 'combined.channel']) }} as varchar) as cac_id,
    cast(combined.month_start as date) as month_start,
    cast(combined.channel as varchar) as channel,
    cast(combined.is_blended as boolean) as is_blended,
    cast(combined.spend as decimal(18, 4)) as spend,
    cast(combined.new_paying_customers as bigint) as new_paying_customers,
    cast(
        case
            when combined.new_paying_customers > 0
                then {{ divide_decimal('combined.spend', 'combined.new_paying_customers') }}
        end as decimal(18, 4)
    ) as cac,
    cast({{ sql_string_literal(var('reporting_currency') | upper) }} as varchar) as reporting_currency
from combined
