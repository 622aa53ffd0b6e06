{{ config(materialized='table') }}
select o.country, c.name as country_name, count(*) as orders, sum(o.amount) as revenue
from {{ ref('stg_orders') }} o
left join {{ ref('countries') }} c on c.code = o.country
group by 1, 2
