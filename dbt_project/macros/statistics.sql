{#- Statistics for fct_initiative_outcomes, in portable SQL (sqrt, exp, abs only). Arguments are SQL expressions;
    pass simple column references, as they are repeated in the rendered SQL. -#}

{#- The 0.975 quantile of the standard normal: the half-width of a two-sided 95 % interval in standard errors. -#}
{% macro z_975() -%}
    1.959963984540054
{%- endmacro %}


{#- Two-sided p-value of a standard-normal statistic: erfc(|z| / sqrt 2), with the Chebyshev fit of erfc from
    Numerical Recipes (fractional error < 1.2e-7 everywhere); capped at 1 (the fit gives 1 + 3e-8 at 0). -#}
{% macro normal_two_sided_p_value(z) -%}
    {%- set x = '(abs(' ~ z ~ ') / sqrt(2.0))' -%}
    {%- set t = '(1.0 / (1.0 + 0.5 * ' ~ x ~ '))' -%}
    least(
        1.0,
        {{ t }} * exp(
            -{{ x }} * {{ x }} - 1.26551223 + {{ t }} * (1.00002368 + {{ t }} * (0.37409196 + {{ t }} * (
                0.09678418 + {{ t }} * (-0.18628806 + {{ t }} * (0.27886807 + {{ t }} * (-1.13520398 + {{ t }} * (
                    1.48851587 + {{ t }} * (-0.82215223 + {{ t }} * 0.17087277)
                ))))
            )))
        )
    )
{%- endmacro %}


{#- The 0.975 quantile of Student's t with `df` degrees of freedom (df may be fractional, as Welch's): the
    Cornish-Fisher expansion around the normal quantile to 1/df^4. Matches the exact quantile to 4 decimals for
    df >= 5 and to 0.01 for df >= 3 (4.271 vs 4.303 at df = 2). -#}
{% macro t_quantile_975(df) -%}
    (
        {{ z_975() }}
        + 2.372271230298562 / ({{ df }})
        + 2.8224986157396112 / power({{ df }}, 2)
        + 2.555849679507722 / power({{ df }}, 3)
        + 1.5895340533938225 / power({{ df }}, 4)
    )
{%- endmacro %}


{#- Two-sided p-value of a Student t statistic, through Wallace's (1959) normal approximation
    z = (8 df + 1) / (8 df + 3) * sqrt(df ln(1 + t^2 / df)): within 1 % of the exact p-value for p >= 0.001 and
    df >= 3, within 10 % far in the tails (the interval, not this p-value, decides significance). -#}
{% macro t_two_sided_p_value(t, df) -%}
    {%- set z = '((8.0 * (' ~ df ~ ') + 1.0) / (8.0 * (' ~ df ~ ') + 3.0) * sqrt((' ~ df ~ ') * ln(1.0 + (' ~ t
        ~ ') * (' ~ t ~ ') / (' ~ df ~ '))))' -%}
    {{ normal_two_sided_p_value(z) }}
{%- endmacro %}
