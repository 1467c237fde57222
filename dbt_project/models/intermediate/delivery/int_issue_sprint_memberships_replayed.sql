{#-
    One row per stretch of time an issue spent in a sprint: (issue_key, sprint_id, joined_at), left_at NULL while
    it is still in the sprint.

    Rebuilt from the Sprint field's changelog items (recognised by name, or by the gh-sprint custom type in the
    field catalog): each item replaces the issue's set of sprint ids (`from`/`to` are comma-separated ids). Before
    the first item the issue is in the item's `from` sprints since creation; an issue without any Sprint item has
    been in its current sprint_ids since creation. Jira keeps closed sprints in the field, so an issue carried
    over at a sprint's close stays a member of the closed sprint and joins the next one.
    Consecutive states containing a sprint are merged into one stretch (gaps and islands on the state number).
-#}

with issues as (

    select
        issues.issue_key,
        issues.created_at,
        issues.sprint_ids,
        issues.changelog_complete
    from {{ ref('int_issues_categorised') }} as issues

),

sprint_field_ids as (

    select fields.field_id
    from {{ ref('stg_jira__fields') }} as fields
    where fields.schema_custom = 'com.pyxis.greenhopper.jira:gh-sprint'

),

sprint_changes as (

    select
        changelog.issue_key,
        changelog.changed_at,
        changelog.from_id,
        changelog.to_id,
        row_number() over (
            partition by changelog.issue_key
            order by
                changelog.changed_at,
                {{ dbt.length('changelog.history_id') }},
                changelog.history_id,
                changelog.item_index
        ) as change_number
    from {{ ref('stg_jira__changelog') }} as changelog
    inner join issues
        on changelog.issue_key = issues.issue_key
    where
        lower(changelog.field) = 'sprint'
        or changelog.field_id in (select sprint_field_ids.field_id from sprint_field_ids)

),

listed_states as (

    -- The sprints before the first change, from creation on.
    select
        sprint_changes.issue_key,
        0 as state_number,
        issues.created_at as valid_from,
        sprint_changes.changed_at as valid_to,
        sprint_changes.from_id as sprint_id_list
    from sprint_changes
    inner join issues
        on sprint_changes.issue_key = issues.issue_key
    where sprint_changes.change_number = 1

    union all

    select
        sprint_changes.issue_key,
        sprint_changes.change_number as state_number,
        sprint_changes.changed_at as valid_from,
        lead(sprint_changes.changed_at) over (
            partition by sprint_changes.issue_key order by sprint_changes.change_number
        ) as valid_to,
        sprint_changes.to_id as sprint_id_list
    from sprint_changes

),

exploded_listed_states as (

    select
        listed_states.issue_key,
        listed_states.state_number,
        listed_states.valid_from,
        listed_states.valid_to,
        {{ explode_array(split_comma_list('listed_states.sprint_id_list')) }} as sprint_id_text
    from listed_states

),

exploded_unchanged_issues as (

    select
        issues.issue_key,
        0 as state_number,
        issues.created_at as valid_from,
        cast(null as {{ dbt.type_timestamp() }}) as valid_to,
        {{ explode_array('issues.sprint_ids') }} as sprint_id
    from issues
    where issues.issue_key not in (select sprint_changes.issue_key from sprint_changes)

),

sprint_states as (

    select
        exploded_listed_states.issue_key,
        exploded_listed_states.state_number,
        exploded_listed_states.valid_from,
        exploded_listed_states.valid_to,
        {{ dbt.safe_cast('exploded_listed_states.sprint_id_text', dbt.type_bigint()) }} as sprint_id
    from exploded_listed_states
    where exploded_listed_states.sprint_id_text != ''

    union all

    select
        exploded_unchanged_issues.issue_key,
        exploded_unchanged_issues.state_number,
        exploded_unchanged_issues.valid_from,
        exploded_unchanged_issues.valid_to,
        cast(exploded_unchanged_issues.sprint_id as {{ dbt.type_bigint() }}) as sprint_id
    from exploded_unchanged_issues

),

islands as (

    select
        sprint_states.*,
        sprint_states.state_number - row_number() over (
            partition by sprint_states.issue_key, sprint_states.sprint_id
            order by sprint_states.state_number
        ) as island_number
    from sprint_states
    where sprint_states.sprint_id is not null

),

stretches as (

    select
        islands.issue_key,
        islands.sprint_id,
        min(islands.valid_from) as joined_at,
        -- Still a member when the stretch reaches the issue's current state (no end).
        case when count(islands.valid_to) = count(*) then max(islands.valid_to) end as left_at
    from islands
    group by islands.issue_key, islands.sprint_id, islands.island_number

)

select
    {{ surrogate_key(['stretches.issue_key', 'stretches.sprint_id', 'stretches.joined_at']) }} as sprint_membership_id,
    stretches.issue_key,
    stretches.sprint_id,
    stretches.joined_at,
    stretches.left_at,
    issues.changelog_complete
from stretches
inner join issues
    on stretches.issue_key = issues.issue_key
