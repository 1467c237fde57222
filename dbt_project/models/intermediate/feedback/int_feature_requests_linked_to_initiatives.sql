{#-
    One row per feature request with the initiative it counts towards and the rule that linked it (link_rule):
    - 'jira_key': the request's Jira key is an initiative or rolls up to one (int_issues_rolled_up_to_initiatives:
      an epic or story under an initiative), or is an initiative key listed in var('initiatives') even before any
      Jira export has landed;
    - 'kano_feature': otherwise the request's feature name is a feature of var('kano_features') that names its
      initiative;
    - 'initiative_summary': otherwise the feature name equals exactly one initiative's Jira summary;
    - NULL: linked to no initiative.
    Feature names compare case-insensitively with spaces and hyphens read as underscores ("Report sharing" matches
    the configured feature report_sharing).
-#}
{%- set initiatives = var('initiatives') -%}
{%- if initiatives is string %}{% set initiatives = fromjson(initiatives) %}{% endif -%}
{%- set kano_features = var('kano_features') -%}
{%- if kano_features is string %}{% set kano_features = fromjson(kano_features) %}{% endif -%}
{%- set linked_kano_features = kano_features | selectattr('initiative') | list -%}


with requests as (

    select * from {{ ref('stg_feedback__feature_requests') }}

),

rollup as (

    select * from {{ ref('int_issues_rolled_up_to_initiatives') }}

),

configured_initiatives as (

    {#- union, not union all: a key listed twice must not double its requests #}
    {% if initiatives | length == 0 -%}
        select cast(null as {{ dbt.type_string() }}) as initiative_key
        where 1 = 0
    {%- else -%}
        {%- for initiative in initiatives %}
            select {{ sql_string_literal(initiative.key) }} as initiative_key
            {% if not loop.last %}union{% endif %}
        {%- endfor %}
    {%- endif %}

),

kano_feature_candidates as (

    {% if linked_kano_features | length == 0 -%}
        select
            cast(null as {{ dbt.type_string() }}) as feature_name_key,
            cast(null as {{ dbt.type_string() }}) as initiative_key
        where 1 = 0
    {%- else -%}
        {%- for kano_feature in linked_kano_features %}
            select
                {{ comparable_feature_name(sql_string_literal(kano_feature.feature)) }} as feature_name_key,
                {{ sql_string_literal(kano_feature.initiative) }} as initiative_key
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    {%- endif %}

),

kano_feature_initiatives as (

    select
        kano_feature_candidates.feature_name_key,
        min(kano_feature_candidates.initiative_key) as initiative_key
    from kano_feature_candidates
    group by kano_feature_candidates.feature_name_key
    -- two configured features that read the same once normalised, under different initiatives, identify neither
    having count(distinct kano_feature_candidates.initiative_key) = 1

),

initiative_summaries as (

    select
        {{ comparable_feature_name('issues.summary') }} as feature_name_key,
        min(issues.issue_key) as initiative_key
    from {{ ref('int_issues_categorised') }} as issues
    inner join rollup
        on issues.issue_key = rollup.issue_key
    where rollup.is_initiative and issues.summary is not null
    group by {{ comparable_feature_name('issues.summary') }}
    -- a summary two initiatives share identifies neither
    having count(*) = 1

),

linked as (

    select
        requests.feature_request_id,
        coalesce(rollup.initiative_key, configured_initiatives.initiative_key) as jira_initiative_key,
        kano_feature_initiatives.initiative_key as kano_initiative_key,
        initiative_summaries.initiative_key as summary_initiative_key
    from requests
    left join rollup
        on requests.jira_key = rollup.issue_key
    left join configured_initiatives
        on requests.jira_key = configured_initiatives.initiative_key
    left join kano_feature_initiatives
        on {{ comparable_feature_name('requests.feature_name') }} = kano_feature_initiatives.feature_name_key
    left join initiative_summaries
        on {{ comparable_feature_name('requests.feature_name') }} = initiative_summaries.feature_name_key

)

select
    requests.feature_request_id,
    requests.request_id,
    requests.vendor,
    coalesce(linked.jira_initiative_key, linked.kano_initiative_key, linked.summary_initiative_key) as initiative_key,
    case
        when linked.jira_initiative_key is not null then 'jira_key'
        when linked.kano_initiative_key is not null then 'kano_feature'
        when linked.summary_initiative_key is not null then 'initiative_summary'
    end as link_rule,
    requests.jira_key,
    requests.feature_name,
    requests.title,
    requests.respondent_key,
    requests.user_id,
    requests.respondent_email_hash,
    requests.account_id,
    requests.created_at
from requests
inner join linked
    on requests.feature_request_id = linked.feature_request_id
