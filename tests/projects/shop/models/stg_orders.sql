{% if var('break_model', false) %}
select * from this_table_does_not_exist
{% else %}
select id, country, amount, created_at from {{ source('raw', 'orders') }}
{% endif %}
