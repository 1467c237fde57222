{#-
    Every issue with its place in the hierarchy: its epic, its initiative, its direct children.

    The parent of an issue is parent_key, else epic_key (older instances link stories to epics only through Epic
    Link). Walking parents upwards: epic_key is the nearest ancestor at hierarchy level 1 (else the exported Epic
    Link); initiative_key is the nearest ancestor-or-self that is an initiative, i.e. an issue at hierarchy level 2
    or a key listed in var('initiatives') (the configuration may name an epic as an initiative). Walks stop after
    10 levels, so a parent cycle in bad data cannot loop.
-#}
{%- set initiatives = var('initiatives') -%}
{%- if initiatives is string %}{% set initiatives = fromjson(initiatives) %}{% endif -%}
{%- set initiative_keys = initiatives | map(attribute='key') | list -%}

with issues as (

    select
        issues.issue_key,
        issues.hierarchy_level,
        issues.story_points,
        issues.epic_key as linked_epic_key,
        case
            when coalesce(issues.parent_key, issues.epic_key) != issues.issue_key
                then coalesce(issues.parent_key, issues.epic_key)
        end as parent_issue_key,
        issues.hierarchy_level = 2
        {%- if initiative_keys %}
            or issues.issue_key in (
                {%- for key in initiative_keys %}
                    {{ sql_string_literal(key) }}{% if not loop.last %},{% endif %}
                {%- endfor %}
            )
        {%- endif %} as is_initiative
    from {{ ref('int_issues_categorised') }} as issues

),

-- The ancestry walk, unrolled to its 10-level bound (portable: Spark before 4.1 has no recursive CTE).
-- hop_N holds every issue's ancestor N parents up; their union is what a recursive CTE would produce.
hop_0 as (

    select
        issues.issue_key,
        issues.issue_key as ancestor_key,
        0 as depth
    from issues

),

{% for hop in range(1, 11) %}
    hop_{{ hop }} as (

        select
            previous_hop.issue_key,
            parents.parent_issue_key as ancestor_key,
            {{ hop }} as depth
        from hop_{{ hop - 1 }} as previous_hop
        inner join issues as parents
            on previous_hop.ancestor_key = parents.issue_key
        where parents.parent_issue_key is not null

    ),

{% endfor %}
ancestry as (

    {% for hop in range(0, 11) -%}
        select
            hop_{{ hop }}.issue_key,
            hop_{{ hop }}.ancestor_key,
            hop_{{ hop }}.depth
        from hop_{{ hop }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

ancestors as (

    select
        ancestry.issue_key,
        ancestry.ancestor_key,
        ancestry.depth,
        ancestor_issues.hierarchy_level as ancestor_hierarchy_level,
        coalesce(ancestor_issues.is_initiative, false) as ancestor_is_initiative
    from ancestry
    left join issues as ancestor_issues
        on ancestry.ancestor_key = ancestor_issues.issue_key

),

nearest_epics as (

    select
        ranked.issue_key,
        ranked.ancestor_key as epic_key
    from (
        select
            ancestors.issue_key,
            ancestors.ancestor_key,
            row_number() over (partition by ancestors.issue_key order by ancestors.depth) as nearness
        from ancestors
        where ancestors.depth > 0 and ancestors.ancestor_hierarchy_level = 1
    ) as ranked
    where ranked.nearness = 1

),

nearest_initiatives as (

    select
        ranked.issue_key,
        ranked.ancestor_key as initiative_key,
        ranked.depth as levels_below_initiative
    from (
        select
            ancestors.issue_key,
            ancestors.ancestor_key,
            ancestors.depth,
            row_number() over (partition by ancestors.issue_key order by ancestors.depth) as nearness
        from ancestors
        where ancestors.ancestor_is_initiative
    ) as ranked
    where ranked.nearness = 1

),

direct_children as (

    select
        issues.parent_issue_key as issue_key,
        count(*) as direct_child_count
    from issues
    where issues.parent_issue_key is not null
    group by issues.parent_issue_key

)

select
    issues.issue_key,
    issues.hierarchy_level,
    issues.parent_issue_key,
    case
        when coalesce(issues.hierarchy_level, 0) < 1 then coalesce(nearest_epics.epic_key, issues.linked_epic_key)
    end as epic_key,
    nearest_initiatives.initiative_key,
    cast(nearest_initiatives.levels_below_initiative as {{ dbt.type_int() }}) as levels_below_initiative,
    issues.is_initiative,
    cast(coalesce(direct_children.direct_child_count, 0) as {{ dbt.type_bigint() }}) as direct_child_count,
    issues.story_points
from issues
left join nearest_epics
    on issues.issue_key = nearest_epics.issue_key
left join nearest_initiatives
    on issues.issue_key = nearest_initiatives.issue_key
left join direct_children
    on issues.issue_key = direct_children.issue_key
