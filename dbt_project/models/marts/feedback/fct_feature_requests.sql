{#-
    Feature-request demand per initiative (int_feature_requests_linked_to_initiatives says how each request was
    linked), plus one row, initiative_key '(unlinked)', for the requests linked to no initiative.
    The full reasoning is the docs block fct_feature_requests in feedback/_feedback__docs.md.
-#}

with linked_requests as (

    select
        coalesce(linked.initiative_key, '(unlinked)') as initiative_key,
        linked.feature_request_id,
        linked.link_rule,
        linked.respondent_key,
        linked.user_id,
        linked.respondent_email_hash,
        linked.account_id,
        linked.title,
        linked.created_at
    from {{ ref('int_feature_requests_linked_to_initiatives') }} as linked

),

latest_requests as (

    select
        ranked.initiative_key,
        ranked.title
    from (
        select
            linked_requests.initiative_key,
            linked_requests.title,
            row_number() over (
                partition by linked_requests.initiative_key
                order by linked_requests.created_at desc nulls last, linked_requests.feature_request_id desc
            ) as recency_rank
        from linked_requests
    ) as ranked
    where ranked.recency_rank = 1

),

customers as (

    select
        billing_customers.customer_id,
        billing_customers.user_id,
        billing_customers.email_hash
    from {{ ref('stg_billing__customers') }} as billing_customers

),

monthly_revenue as (

    select
        revenue.customer_id,
        revenue.revenue_month,
        revenue.net_revenue
    from {{ ref('int_customer_revenue_monthly') }} as revenue

),

revenue_window as (

    select
        count(*) as revenue_rows,
        max(monthly_revenue.revenue_month) as last_month
    from monthly_revenue

),

customer_revenue as (

    select
        monthly_revenue.customer_id,
        sum(monthly_revenue.net_revenue) as net_revenue_12m
    from monthly_revenue
    cross join revenue_window
    where monthly_revenue.revenue_month > {{ dbt.dateadd('month', -12, 'revenue_window.last_month') }}
    group by monthly_revenue.customer_id

),

requesters as (

    select distinct
        linked_requests.initiative_key,
        linked_requests.respondent_key,
        linked_requests.user_id,
        linked_requests.respondent_email_hash
    from linked_requests

),

requester_customers as (

    select
        requesters.initiative_key,
        requesters.respondent_key,
        coalesce(by_user.customer_id, by_email.customer_id) as customer_id
    from requesters
    left join customers as by_user
        on requesters.user_id = by_user.user_id
    left join customers as by_email
        on
            by_user.customer_id is null
            and requesters.respondent_email_hash = by_email.email_hash

),

initiative_customers as (

    select distinct
        requester_customers.initiative_key,
        requester_customers.customer_id
    from requester_customers
    where requester_customers.customer_id is not null

),

revenue_demand as (

    select
        initiative_customers.initiative_key,
        count(*) as matched_customers,
        sum(coalesce(customer_revenue.net_revenue_12m, 0)) as revenue_weighted_demand
    from initiative_customers
    left join customer_revenue
        on initiative_customers.customer_id = customer_revenue.customer_id
    group by initiative_customers.initiative_key

),

matched_requesters as (

    select
        requester_customers.initiative_key,
        count(distinct requester_customers.respondent_key) as matched_requesters
    from requester_customers
    where requester_customers.customer_id is not null
    group by requester_customers.initiative_key

),

nps_answers as (

    select
        responses.survey_response_id,
        responses.user_id,
        responses.respondent_email_hash,
        responses.score,
        responses.responded_at
    from {{ ref('stg_feedback__survey_responses') }} as responses
    where responses.survey_type = 'nps' and responses.score is not null

),

requester_nps_answers as (

    -- Two equality joins rather than one OR join: DuckDB hashes each of them.
    select
        requesters.initiative_key,
        requesters.respondent_key,
        nps_answers.survey_response_id,
        nps_answers.score,
        nps_answers.responded_at
    from requesters
    inner join nps_answers
        on requesters.user_id = nps_answers.user_id

    union

    select
        requesters.initiative_key,
        requesters.respondent_key,
        nps_answers.survey_response_id,
        nps_answers.score,
        nps_answers.responded_at
    from requesters
    inner join nps_answers
        on requesters.respondent_email_hash = nps_answers.respondent_email_hash

),

latest_requester_answers as (

    select
        ranked.initiative_key,
        ranked.score
    from (
        select
            requester_nps_answers.initiative_key,
            requester_nps_answers.score,
            row_number() over (
                partition by requester_nps_answers.initiative_key, requester_nps_answers.respondent_key
                order by
                    requester_nps_answers.responded_at desc nulls last,
                    requester_nps_answers.survey_response_id desc
            ) as answer_rank
        from requester_nps_answers
    ) as ranked
    where ranked.answer_rank = 1

),

requester_nps as (

    select
        latest_requester_answers.initiative_key,
        count(*) as requesters_with_nps,
        100.0 * (
            sum(case when latest_requester_answers.score >= 9 then 1 else 0 end)
            - sum(case when latest_requester_answers.score <= 6 then 1 else 0 end)
        ) / count(*) as requester_nps
    from latest_requester_answers
    group by latest_requester_answers.initiative_key

),

demand as (

    select
        linked_requests.initiative_key,
        count(*) as requests,
        count(distinct linked_requests.account_id) as unique_accounts,
        count(distinct linked_requests.respondent_key) as unique_respondents,
        sum(case when linked_requests.link_rule = 'jira_key' then 1 else 0 end) as requests_linked_by_jira_key,
        sum(
            case when linked_requests.link_rule in ('kano_feature', 'initiative_summary') then 1 else 0 end
        ) as requests_linked_by_feature_name,
        min(linked_requests.created_at) as first_requested_at,
        max(linked_requests.created_at) as last_requested_at
    from linked_requests
    group by linked_requests.initiative_key

)

select
    cast(demand.initiative_key as {{ dbt.type_string() }}) as initiative_key,
    cast(demand.requests as {{ dbt.type_bigint() }}) as requests,
    cast(demand.unique_accounts as {{ dbt.type_bigint() }}) as unique_accounts,
    cast(demand.unique_respondents as {{ dbt.type_bigint() }}) as unique_respondents,
    cast(demand.requests_linked_by_jira_key as {{ dbt.type_bigint() }}) as requests_linked_by_jira_key,
    cast(demand.requests_linked_by_feature_name as {{ dbt.type_bigint() }}) as requests_linked_by_feature_name,
    cast(demand.first_requested_at as {{ dbt.type_timestamp() }}) as first_requested_at,
    cast(demand.last_requested_at as {{ dbt.type_timestamp() }}) as last_requested_at,
    cast({{ mart_free_text('latest_requests.title') }} as {{ dbt.type_string() }}) as latest_request_title,
    cast(coalesce(matched_requesters.matched_requesters, 0) as {{ dbt.type_bigint() }}) as matched_requesters,
    cast(coalesce(revenue_demand.matched_customers, 0) as {{ dbt.type_bigint() }}) as matched_customers,
    cast(
        case
            when revenue_window.revenue_rows > 0 then coalesce(revenue_demand.revenue_weighted_demand, 0)
        end as double
    ) as revenue_weighted_demand,
    cast(coalesce(requester_nps.requesters_with_nps, 0) as {{ dbt.type_bigint() }}) as requesters_with_nps,
    cast(requester_nps.requester_nps as double) as requester_nps
from demand
cross join revenue_window
left join latest_requests
    on demand.initiative_key = latest_requests.initiative_key
left join matched_requesters
    on demand.initiative_key = matched_requesters.initiative_key
left join revenue_demand
    on demand.initiative_key = revenue_demand.initiative_key
left join requester_nps
    on demand.initiative_key = requester_nps.initiative_key
