{#-
    One row per respondent and feature: the respondent's latest Kano answer pair for the feature, classified with
    the evaluation table (seed kano_evaluation, the only copy of DESIGN.md's table).

    One answer per respondent, so a feature's category counts add up to its respondents: a person who filled the
    questionnaire twice (two response ids, one respondent_key) counts with the newer answers. Pairs outside the
    answer vocabulary get no category (staging's accepted_values test flags them) and are left out.
-#}

with answers as (

    select * from {{ ref('stg_feedback__kano_answers') }}

),

ranked_answers as (

    select
        answers.kano_answer_id,
        answers.respondent_key,
        answers.feature,
        answers.functional_answer,
        answers.dysfunctional_answer,
        answers.importance,
        answers.answered_at,
        row_number() over (
            partition by answers.respondent_key, answers.feature
            order by answers.answered_at desc nulls last, answers.ingested_at desc, answers.kano_answer_id desc
        ) as answer_rank
    from answers

)

select
    {{ surrogate_key(['ranked_answers.respondent_key', 'ranked_answers.feature']) }} as respondent_feature_id,
    ranked_answers.respondent_key,
    ranked_answers.feature,
    ranked_answers.kano_answer_id,
    ranked_answers.functional_answer,
    ranked_answers.dysfunctional_answer,
    evaluation.category,
    ranked_answers.importance,
    ranked_answers.answered_at
from ranked_answers
inner join {{ ref('kano_evaluation') }} as evaluation
    on
        ranked_answers.functional_answer = evaluation.functional_answer
        and ranked_answers.dysfunctional_answer = evaluation.dysfunctional_answer
where ranked_answers.answer_rank = 1
