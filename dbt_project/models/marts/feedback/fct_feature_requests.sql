{#-
    Feature-request demand per initiative (int_feature_requests_linked_to_initiatives says how each request was
    linked), plus one row, initiative_key '(unlinked)', for the requests linked to no initiative.

    revenue_weighted_demand stays NULL until billing data exists: no revenue is invented from request counts.
    latest_request_title is free text for BI, so its emails are redacted and it is made spreadsheet-safe.
-#}

with linked_requests as (

    select
        coalesce(linked.initiative_key, '(unlinked)') as initiative_key,
        linked.feature_request_id,
        linked.link_rule,
        linked.respondent_key,
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
    cast(null as double) as revenue_weighted_demand
from demand
left join latest_requests
    on demand.initiative_key = latest_requests.initiative_key
