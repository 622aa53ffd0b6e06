{{ config(pre_hook="copy (select 1 as started) to '" ~ var('started_marker') ~ "' (header)") }}
select count(*) as n, (select max(id) from {{ ref('quick') }}) as quick_id
from range(1000000000000) as t(i)
where i % 7 = 3
