{#- Feedback helpers: respondent identity and free text without raw emails. -#}

{#- The respondent a feedback row belongs to (DESIGN.md, identity): the product user id when the export carries one,
    else the normalised email hash ingest computed, else the row's own id, so an anonymous row is its own
    respondent. The prefixes keep the three kinds of key apart; no raw email ever enters the key. Empty texts count
    as missing. -#}
{% macro respondent_key(user_id, email_hash, fallback_id) -%}
    case
        when nullif(trim({{ user_id }}), '') is not null then trim({{ user_id }})
        when nullif(trim({{ email_hash }}), '') is not null
            then {{ dbt.concat(["'email:'", "trim(" ~ email_hash ~ ")"]) }}
        else {{ dbt.concat(["'anon:'", fallback_id]) }}
    end
{%- endmacro %}


{#- Email addresses inside free text replaced by '[email]': marts never carry raw emails (DESIGN.md, identity),
    and a comment or request body is where a respondent types one. -#}
{% macro redact_emails(column) -%}
    {{ return(adapter.dispatch('redact_emails', 'product_metrics_warehouse')(column)) }}
{%- endmacro %}

{% macro duckdb__redact_emails(column) -%}
    regexp_replace({{ column }}, '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}', '[email]', 'g')
{%- endmacro %}

{% macro default__redact_emails(column) -%}
    {#- Spark's regexp_replace replaces every match. -#}
    regexp_replace({{ column }}, '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}', '[email]')
{%- endmacro %}


{#- Free text for a mart: emails redacted. Text that could start a spreadsheet formula is made safe once, for every
    published column whatever its source, when the release is written (publish/release.py, spreadsheet_safe). -#}
{% macro mart_free_text(column) -%}
    {{ redact_emails(column) }}
{%- endmacro %}


{#- A feature name in a comparable form: lower-cased, trimmed, spaces and hyphens as underscores, so a request filed
    under "Report sharing" matches the configured feature report_sharing. -#}
{% macro comparable_feature_name(column) -%}
    replace(replace(lower(trim({{ column }})), ' ', '_'), '-', '_')
{%- endmacro %}

{#- The segment grid survey marts roll up over: each plan x platform, each dimension alone with the other at
    '(all)', and the total. Cross-joined to responses; a flag false means "roll this dimension up". -#}
{% macro segment_rollups() -%}
    select
        true as by_plan,
        true as by_platform
    union all
    select
        true as by_plan,
        false as by_platform
    union all
    select
        false as by_plan,
        true as by_platform
    union all
    select
        false as by_plan,
        false as by_platform
{%- endmacro %}
