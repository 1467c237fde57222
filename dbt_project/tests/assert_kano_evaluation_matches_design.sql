{#-
    The seed kano_evaluation holds exactly the 25 cells of DESIGN.md's evaluation table, once each (rows functional,
    columns dysfunctional; like, expect, neutral, live_with, dislike):
      like: Q A A A O · expect: R I I I M · neutral: R I I I M · live_with: R I I I M · dislike: R R R R Q.
    Returns every cell that is missing, extra, repeated or of another category.
-#}

with design_cells as (

    {%- set design_rows = {
        'like': ['Q', 'A', 'A', 'A', 'O'],
        'expect': ['R', 'I', 'I', 'I', 'M'],
        'neutral': ['R', 'I', 'I', 'I', 'M'],
        'live_with': ['R', 'I', 'I', 'I', 'M'],
        'dislike': ['R', 'R', 'R', 'R', 'Q'],
    } -%}
    {%- set answers = ['like', 'expect', 'neutral', 'live_with', 'dislike'] -%}
    {%- for functional_answer in answers %}
        {%- set row_loop = loop %}
        {%- for dysfunctional_answer in answers %}
            select
                '{{ functional_answer }}' as functional_answer,
                '{{ dysfunctional_answer }}' as dysfunctional_answer,
                '{{ design_rows[functional_answer][loop.index0] }}' as category
            {% if not (row_loop.last and loop.last) %}union all{% endif %}
        {%- endfor %}
    {%- endfor %}

),

seed_cells as (

    select
        seeded.functional_answer,
        seeded.dysfunctional_answer,
        seeded.category,
        count(*) over (partition by seeded.functional_answer, seeded.dysfunctional_answer) as copies
    from {{ ref('kano_evaluation') }} as seeded

)

select
    coalesce(design_cells.functional_answer, seed_cells.functional_answer) as functional_answer,
    coalesce(design_cells.dysfunctional_answer, seed_cells.dysfunctional_answer) as dysfunctional_answer,
    design_cells.category as design_category,
    seed_cells.category as seed_category,
    seed_cells.copies
from design_cells
full outer join seed_cells
    on
        design_cells.functional_answer = seed_cells.functional_answer
        and design_cells.dysfunctional_answer = seed_cells.dysfunctional_answer
where
    design_cells.category is null
    or seed_cells.category is null
    or design_cells.category != seed_cells.category
    or seed_cells.copies > 1
