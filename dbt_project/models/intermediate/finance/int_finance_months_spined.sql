{#-
    One row per calendar month the finance marts report: from the first month with billing activity to the as-of
    month, the month of the latest billing activity (an invoice created, a refund issued, a subscription canceled or
    ended). Months after it are not reported, though an annual plan may already be billed for them. Empty while
    there is no billing data.
-#}

with activity as (

    select invoices.created_at as happened_at from {{ ref('stg_billing__invoices') }} as invoices
    union all
    select coalesce(invoices.paid_at, invoices.created_at) from {{ ref('stg_billing__invoices') }} as invoices
    union all
    select refunds.created_at from {{ ref('stg_billing__refunds') }} as refunds
    union all
    select subscriptions.canceled_at from {{ ref('stg_billing__subscriptions') }} as subscriptions
    union all
    select subscriptions.ended_at from {{ ref('stg_billing__subscriptions') }} as subscriptions

),

bounds as (

    select
        min({{ month_start('activity.happened_at') }}) as first_month,
        max({{ month_start('activity.happened_at') }}) as as_of_month
    from activity

),

days as (

    {{ date_spine('(select bounds.first_month from bounds)', '(select bounds.as_of_month from bounds)') }}

)

select
    days.calendar_date as month_start,
    cast({{ dbt.dateadd('month', 1, 'days.calendar_date') }} as {{ dbt.type_timestamp() }}) as next_month_start,
    days.calendar_date = (select bounds.as_of_month from bounds) as is_as_of_month
from days
where {{ month_start('days.calendar_date') }} = days.calendar_date
