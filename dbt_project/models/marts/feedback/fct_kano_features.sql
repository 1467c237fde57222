{#-
    Kano result per feature (DESIGN.md): how many respondents' answer pairs fall in each category, the feature's
    category and the Better / Worse coefficients:
      Better = (A + O) / (A + O + M + I),  Worse = -(O + M) / (A + O + M + I)   (NULL when A + O + M + I = 0).
    Each respondent counts once per feature (int_kano_answers_classified keeps their latest pair), so the six
    counts add up to respondents.

    dominant_category is the most frequent category; ties go to the category with the larger effect on
    satisfaction, the usual Kano rule M > O > A > I, then R > Q (a reverse answer is still an opinion, a
    questionable one is not).

    Features are those answered plus those configured in var('kano_features'); the initiative comes from that
    configuration. A configured feature nobody answered yet has zero counts and NULL category and coefficients.
-#}
{%- set kano_features = var('kano_features') -%}
{%- if kano_features is string %}{% set kano_features = fromjson(kano_features) %}{% endif -%}
{%- set tie_priority = ['M', 'O', 'A', 'I', 'R', 'Q'] -%}

with classified as (

    select * from {{ ref('int_kano_answers_classified') }}

),

configured_features as (

    {% if kano_features | length == 0 -%}
        select
            cast(null as {{ dbt.type_string() }}) as feature,
            cast(null as {{ dbt.type_string() }}) as initiative_key
        where 1 = 0
    {%- else -%}
        {%- for kano_feature in kano_features %}
            select
                {{ sql_string_literal(kano_feature.feature) }} as feature,
                {{ sql_literal(kano_feature.initiative) }} as initiative_key
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    {%- endif %}

),

all_features as (

    select classified.feature from classified
    union
    select configured_features.feature from configured_features

),

category_counts as (

    select
        classified.feature,
        count(distinct classified.respondent_key) as respondents,
        {%- for category in ['A', 'O', 'M', 'I', 'R', 'Q'] %}
            sum(case when classified.category = '{{ category }}' then 1 else 0 end) as {{ category | lower }}_count,
        {%- endfor %}
        avg(cast(classified.importance as double)) as average_importance
    from classified
    group by classified.feature

),

category_ranks as (

    select
        per_category.feature,
        per_category.category,
        row_number() over (
            partition by per_category.feature
            order by
                per_category.answer_count desc,
                case per_category.category
                    {%- for category in tie_priority %}
                        when '{{ category }}' then {{ loop.index }}
                    {%- endfor %}
                end
        ) as category_rank
    from (
        select
            classified.feature,
            classified.category,
            count(*) as answer_count
        from classified
        group by classified.feature, classified.category
    ) as per_category

),

features as (

    select
        all_features.feature,
        configured_features.initiative_key,
        coalesce(category_counts.respondents, 0) as respondents,
        {%- for category in ['a', 'o', 'm', 'i', 'r', 'q'] %}
            coalesce(category_counts.{{ category }}_count, 0) as {{ category }}_count,
        {%- endfor %}
        category_ranks.category as dominant_category,
        category_counts.average_importance
    from all_features
    left join configured_features
        on all_features.feature = configured_features.feature
    left join category_counts
        on all_features.feature = category_counts.feature
    left join category_ranks
        on all_features.feature = category_ranks.feature and category_ranks.category_rank = 1

)

select
    cast(features.feature as {{ dbt.type_string() }}) as feature,
    cast(features.initiative_key as {{ dbt.type_string() }}) as initiative_key,
    cast(features.respondents as {{ dbt.type_bigint() }}) as respondents,
    cast(features.a_count as {{ dbt.type_bigint() }}) as a_count,
    cast(features.o_count as {{ dbt.type_bigint() }}) as o_count,
    cast(features.m_count as {{ dbt.type_bigint() }}) as m_count,
    cast(features.i_count as {{ dbt.type_bigint() }}) as i_count,
    cast(features.r_count as {{ dbt.type_bigint() }}) as r_count,
    cast(features.q_count as {{ dbt.type_bigint() }}) as q_count,
    cast(features.dominant_category as {{ dbt.type_string() }}) as dominant_category,
    cast(
        case
            when features.a_count + features.o_count + features.m_count + features.i_count > 0
                then
                    cast(features.a_count + features.o_count as double)
                    / (features.a_count + features.o_count + features.m_count + features.i_count)
        end as double
    ) as better,
    cast(
        case
            when features.a_count + features.o_count + features.m_count + features.i_count > 0
                then
                    0 - cast(features.o_count + features.m_count as double)
                    / (features.a_count + features.o_count + features.m_count + features.i_count)
        end as double
    ) as worse,
    cast(features.average_importance as double) as average_importance
from features
