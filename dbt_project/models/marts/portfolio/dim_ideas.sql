{#-
    Jira Product Discovery ideas: one row per issue of type Idea, with its RICE fields as typed in (confidence
    already normalised to [0, 1] by ingest) and the initiative that implements it.

    implemented_by_initiative_key: JPD links an idea to the delivery work that implements it with the link type
    "Polaris work item link" (the idea "is implemented by" the work item). The link is read from either side (inward
    on the idea, outward on the work item: an export of only one project still shows it) and kept when the work
    item is an initiative of dim_initiatives. Several implementing initiatives: the lowest key, deterministically;
    implementing_initiatives says how many there were.

    idea_status maps JPD's workflow onto the portfolio's vocabulary: a done category is shipped, a status named
    like Delivery is in_delivery, the to-do category (Parking lot, New) is parked, anything else is discovery.
-#}

with ideas as (

    select * from {{ ref('int_issues_categorised') }}
    where lower(trim(issue_type)) = 'idea'

),

delivery_links as (

    select
        links.issue_key as idea_key,
        links.linked_issue_key as work_item_key
    from {{ ref('int_issue_links_matched_to_kept_exports') }} as links
    where links.link_type = 'Polaris work item link' and links.direction = 'inward'

    union

    select
        links.linked_issue_key as idea_key,
        links.issue_key as work_item_key
    from {{ ref('int_issue_links_matched_to_kept_exports') }} as links
    where links.link_type = 'Polaris work item link' and links.direction = 'outward'

),

implementing_initiatives as (

    select
        delivery_links.idea_key,
        min(initiatives.initiative_key) as initiative_key,
        count(distinct initiatives.initiative_key) as initiatives
    from delivery_links
    inner join {{ ref('dim_initiatives') }} as initiatives
        on delivery_links.work_item_key = initiatives.initiative_key
    group by delivery_links.idea_key

)

select
    cast(ideas.issue_key as {{ dbt.type_string() }}) as idea_key,
    cast(ideas.project_key as {{ dbt.type_string() }}) as project_key,
    cast(ideas.summary as {{ dbt.type_string() }}) as summary,
    cast(ideas.status as {{ dbt.type_string() }}) as status,
    cast(ideas.status_category as {{ dbt.type_string() }}) as status_category,
    cast(
        case
            when ideas.status_category = 'done' then 'shipped'
            when lower(ideas.status) like '%deliver%' then 'in_delivery'
            when ideas.status_category = 'new' then 'parked'
            else 'discovery'
        end as {{ dbt.type_string() }}
    ) as idea_status,
    cast(ideas.reach as double) as reach,
    cast(ideas.impact as double) as impact,
    cast(ideas.confidence as double) as confidence,
    cast(ideas.effort as double) as effort_person_months,
    cast(implementing_initiatives.initiative_key as {{ dbt.type_string() }}) as implemented_by_initiative_key,
    cast(coalesce(implementing_initiatives.initiatives, 0) as {{ dbt.type_bigint() }}) as implementing_initiatives,
    cast(ideas.created_at as {{ dbt.type_timestamp() }}) as created_at,
    cast(ideas.updated_at as {{ dbt.type_timestamp() }}) as updated_at
from ideas
left join implementing_initiatives
    on ideas.issue_key = implementing_initiatives.idea_key
