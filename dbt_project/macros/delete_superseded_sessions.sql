{#-
    Pre-hook of fct_sessions. When int_events_sessionized re-cuts a user's sessions, a session can disappear
    (two merged by a late event, or all its events re-keyed to another user after identity stitching). Its id
    then no longer exists upstream, and delete+insert on session_id alone would keep it. Only sessions of users
    touched by the batches not yet consumed can vanish: their user key, or (for an anonymous user whose events
    all moved to the stitched user) their anonymous id, appears on those batches' rows.
-#}
{% macro delete_superseded_sessions() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as sessions
        where
            (
                sessions.user_key in (
                    select rewritten.user_key
                    from {{ ref('int_events_sessionized') }} as rewritten
                    where rewritten.sessionized_through > {{ consumed_batches('fct_sessions') }}
                )
                or sessions.anonymous_id in (
                    select rewritten.anonymous_id
                    from {{ ref('int_events_sessionized') }} as rewritten
                    where rewritten.sessionized_through > {{ consumed_batches('fct_sessions') }}
                )
            )
            and not exists (
                select 1
                from {{ ref('int_events_sessionized') }} as current_events
                where current_events.session_id = sessions.session_id
            )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
