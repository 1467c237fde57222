{#-
    One row per paying customer: when and through which channel they were acquired.

    acquired_at: payment time of the customer's first paid invoice with a positive total (a trial or a 100 %
    discount is not a payment); customers who never paid are not acquired and have no row.

    channel, by the first rule that gives one (attribution_rule says which):
    1. billing_metadata: the acquisition channel the company records in the billing customer's metadata;
    2. first_touch_utm: the earliest analytics event at or before acquisition, of the customer's product user
       (billing metadata user_id; anonymous events count once identity stitching ties them to the user), that
       carries a UTM touch: a utm_source (or, without one, a utm_campaign) where the vendor puts it, read as a
       source and campaign pair from the first of these that has one (a campaign is never paired with another
       touch's source):
       a. Amplitude user_properties initial_utm_* (Browser SDK web attribution, $setOnce: the user's first touch
          as Amplitude recorded it; 'EMPTY', the SDK's marker for a first visit without UTM, is no touch);
       b. event properties utm_*: Mixpanel's (the JavaScript library's UTM super properties), or utm_* sent as
          Amplitude event_properties;
       c. Amplitude user_properties utm_* ($set: the latest visit's).
       A later touch never overrides the earliest one. Referrers
       (Mixpanel $initial_referring_domain, Amplitude referrer) are not a channel: no rule maps a domain to one;
    3. unattributed.
    Channel names go through var('channel_map') (unmapped names pass through lower-cased).
-#}

with customers as (

    select * from {{ ref('stg_billing__customers') }}

),

first_payments as (

    select
        ranked_invoices.customer_id,
        ranked_invoices.invoice_id,
        ranked_invoices.acquired_at
    from (
        select
            invoices.customer_id,
            invoices.invoice_id,
            coalesce(invoices.paid_at, invoices.created_at) as acquired_at,
            row_number() over (
                partition by invoices.customer_id
                order by coalesce(invoices.paid_at, invoices.created_at), invoices.invoice_id
            ) as payment_rank
        from {{ ref('stg_billing__invoices') }} as invoices
        where invoices.status = 'paid' and invoices.total_minor > 0
    ) as ranked_invoices
    where ranked_invoices.payment_rank = 1

),

acquired as (

    select
        customers.customer_id,
        customers.user_id,
        customers.acquisition_channel,
        customers.acquisition_campaign,
        first_payments.invoice_id as first_invoice_id,
        first_payments.acquired_at
    from customers
    inner join first_payments
        on customers.customer_id = first_payments.customer_id

),

-- The events carrying a UTM field (extracted once per event, int_utm_touches_extracted), by the user they
-- resolve to now.
touch_fields as (

    select
        events.resolved_user_id as user_id,
        events.event_id,
        events.event_at,
        extracted.initial_utm_source,
        extracted.initial_utm_campaign,
        extracted.event_utm_source,
        extracted.event_utm_campaign,
        extracted.user_utm_source,
        extracted.user_utm_campaign
    from {{ ref('int_events_sessionized') }} as events
    inner join {{ ref('int_utm_touches_extracted') }} as extracted
        on events.event_id = extracted.event_id
    where events.resolved_user_id in (select acquired.user_id from acquired)

),

utm_touches as (

    select
        touch_fields.user_id,
        touch_fields.event_id,
        touch_fields.event_at,
        case
            when coalesce(touch_fields.initial_utm_source, touch_fields.initial_utm_campaign) is not null
                then touch_fields.initial_utm_source
            when coalesce(touch_fields.event_utm_source, touch_fields.event_utm_campaign) is not null
                then touch_fields.event_utm_source
            else touch_fields.user_utm_source
        end as utm_source,
        case
            when coalesce(touch_fields.initial_utm_source, touch_fields.initial_utm_campaign) is not null
                then touch_fields.initial_utm_campaign
            when coalesce(touch_fields.event_utm_source, touch_fields.event_utm_campaign) is not null
                then touch_fields.event_utm_campaign
            else touch_fields.user_utm_campaign
        end as utm_campaign
    from touch_fields

),

first_touches as (

    select
        ranked_touches.user_id,
        ranked_touches.event_at,
        ranked_touches.utm_source,
        ranked_touches.utm_campaign
    from (
        select
            utm_touches.*,
            row_number() over (
                partition by utm_touches.user_id
                order by utm_touches.event_at, utm_touches.event_id
            ) as touch_rank
        from utm_touches
        inner join acquired
            on utm_touches.user_id = acquired.user_id
        where
            coalesce(utm_touches.utm_source, utm_touches.utm_campaign) is not null
            and utm_touches.event_at <= acquired.acquired_at
    ) as ranked_touches
    where ranked_touches.touch_rank = 1

),

attributed as (

    select
        acquired.*,
        first_touches.event_at as first_touch_at,
        first_touches.utm_source as first_touch_utm_source,
        first_touches.utm_campaign as first_touch_utm_campaign,
        {{ mapped_channel('acquired.acquisition_channel') }} as metadata_channel,
        coalesce(
            {{ mapped_channel('first_touches.utm_source') }},
            {{ mapped_channel('first_touches.utm_campaign') }}
        ) as utm_channel
    from acquired
    left join first_touches
        on acquired.user_id = first_touches.user_id

)

select
    cast(attributed.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(attributed.user_id as {{ dbt.type_string() }}) as user_id,
    cast(attributed.first_invoice_id as {{ dbt.type_string() }}) as first_invoice_id,
    cast(attributed.acquired_at as timestamp) as acquired_at,
    cast(attributed.acquired_at as date) as acquisition_date,
    cast({{ month_start('attributed.acquired_at') }} as date) as cohort_month,
    cast(
        coalesce(attributed.metadata_channel, attributed.utm_channel, 'unattributed') as {{ dbt.type_string() }}
    ) as channel,
    cast(
        case
            when attributed.metadata_channel is not null then 'billing_metadata'
            when attributed.utm_channel is not null then 'first_touch_utm'
            else 'unattributed'
        end as {{ dbt.type_string() }}
    ) as attribution_rule,
    cast(
        case
            when attributed.metadata_channel is not null then attributed.acquisition_campaign
            when attributed.utm_channel is not null then attributed.first_touch_utm_campaign
        end as {{ dbt.type_string() }}
    ) as acquisition_campaign,
    cast(attributed.first_touch_at as timestamp) as first_touch_at,
    cast(attributed.first_touch_utm_source as {{ dbt.type_string() }}) as first_touch_utm_source
from attributed
