select * from {{ ref('revenue_by_country') }}
where revenue < {{ 0 if not var('fail_test', false) else 1000000 }}
