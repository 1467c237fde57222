{#-
    One row per status name (case-insensitive) with its status category key (new | indeterminate | done).
    Categories come from the exports, never from hard-coded status names: the status catalog first, then the
    issues in that status, with the configured overrides winning; see the docs block int_jira_statuses_categorised.
-#}
{%- set overrides = var('jira_status_category_overrides') -%}
{#- A JSON string is accepted too (sqlfluff's dbt templater can only pass string vars). -#}
{%- if overrides is string %}{% set overrides = fromjson(overrides) %}{% endif -%}

with issue_versions as (

    select * from {{ ref('stg_jira__issue_versions') }}

),

catalog_statuses as (

    -- Names are what issues and changelog items carry. A name the catalog gives two categories (team-managed
    -- projects have statuses of their own) is not categorised by it: a guess could be the wrong one.
    select
        lower(trim(statuses.status_name)) as status_key,
        min(trim(statuses.status_name)) as status_name,
        case
            when count(distinct statuses.status_category) = 1 and count(*) = count(statuses.status_category)
                then min(statuses.status_category)
        end as catalog_status_category
    from {{ ref('stg_jira__statuses') }} as statuses
    where trim(statuses.status_name) != ''
    group by lower(trim(statuses.status_name))

),

status_changes as (

    select
        changelog.from_value,
        changelog.to_value,
        changelog.changed_at,
        changelog.ingested_at
    from {{ ref('stg_jira__changelog') }} as changelog
    where lower(coalesce(changelog.field_id, changelog.field)) = 'status'

),

seen_statuses as (

    select
        issue_versions.status as status_name,
        issue_versions.exported_status_category,
        issue_versions.updated_at as seen_at,
        issue_versions.ingested_at
    from issue_versions

    union all

    select
        status_changes.from_value as status_name,
        cast(null as {{ dbt.type_string() }}) as exported_status_category,
        status_changes.changed_at as seen_at,
        status_changes.ingested_at
    from status_changes

    union all

    select
        status_changes.to_value as status_name,
        cast(null as {{ dbt.type_string() }}) as exported_status_category,
        status_changes.changed_at as seen_at,
        status_changes.ingested_at
    from status_changes

),

keyed_statuses as (

    select
        lower(trim(seen_statuses.status_name)) as status_key,
        trim(seen_statuses.status_name) as status_name,
        seen_statuses.exported_status_category,
        seen_statuses.seen_at,
        seen_statuses.ingested_at
    from seen_statuses
    where trim(seen_statuses.status_name) != ''

),

ranked_spellings as (

    select
        keyed_statuses.status_key,
        keyed_statuses.status_name,
        row_number() over (
            partition by keyed_statuses.status_key
            order by keyed_statuses.seen_at desc nulls last, keyed_statuses.ingested_at desc, keyed_statuses.status_name
        ) as spelling_rank
    from keyed_statuses

),

ranked_categories as (

    select
        keyed_statuses.status_key,
        keyed_statuses.exported_status_category,
        row_number() over (
            partition by keyed_statuses.status_key
            order by
                keyed_statuses.seen_at desc nulls last,
                keyed_statuses.ingested_at desc,
                keyed_statuses.exported_status_category
        ) as category_rank
    from keyed_statuses
    where keyed_statuses.exported_status_category is not null

),

overrides as (

    {% if overrides | length == 0 -%}
        select
            cast(null as {{ dbt.type_string() }}) as status_key,
            cast(null as {{ dbt.type_string() }}) as status_name,
            cast(null as {{ dbt.type_string() }}) as override_status_category
        where 1 = 0
    {%- else -%}
        {%- for status_name, category in overrides.items() %}
            select
                lower(trim({{ sql_string_literal(status_name) }})) as status_key,
                trim({{ sql_string_literal(status_name) }}) as status_name,
                {{ sql_string_literal(category) }} as override_status_category
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    {%- endif %}

),

all_status_keys as (

    select ranked_spellings.status_key from ranked_spellings
    union
    select catalog_statuses.status_key from catalog_statuses
    union
    select overrides.status_key from overrides

)

select
    all_status_keys.status_key,
    coalesce(ranked_spellings.status_name, catalog_statuses.status_name, overrides.status_name) as status_name,
    coalesce(
        overrides.override_status_category,
        catalog_statuses.catalog_status_category,
        ranked_categories.exported_status_category
    ) as status_category,
    catalog_statuses.catalog_status_category,
    ranked_categories.exported_status_category,
    overrides.override_status_category,
    case
        when overrides.override_status_category is not null then 'override'
        when catalog_statuses.catalog_status_category is not null then 'catalog'
        when ranked_categories.exported_status_category is not null then 'export'
    end as category_source
from all_status_keys
left join ranked_spellings
    on all_status_keys.status_key = ranked_spellings.status_key and ranked_spellings.spelling_rank = 1
left join ranked_categories
    on all_status_keys.status_key = ranked_categories.status_key and ranked_categories.category_rank = 1
left join catalog_statuses
    on all_status_keys.status_key = catalog_statuses.status_key
left join overrides
    on all_status_keys.status_key = overrides.status_key
