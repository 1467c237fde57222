{#- The product's platform vocabulary (iOS, Android, Web) from what each vendor sends: Amplitude's `platform`,
    Mixpanel's `$os` (a browser reports the desktop OS), Segment's context.device.type. Unknown values pass
    through unchanged, so nothing is silently lost. -#}
{% macro normalized_platform(column) -%}
    case
        when lower(trim({{ column }})) in ('ios', 'iphone os', 'ipados', 'iphone', 'ipad') then 'iOS'
        when lower(trim({{ column }})) in ('android') then 'Android'
        when lower(trim({{ column }})) in (
            'web', 'mac os x', 'macos', 'windows', 'linux', 'chrome os', 'chromeos', 'ubuntu', 'browser'
        ) then 'Web'
        else cast(nullif(trim({{ column }}), '') as {{ dbt.type_string() }})
    end
{%- endmacro %}
