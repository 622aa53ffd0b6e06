-- Revenue per day in EUR (cancelled and returned orders bring none).
select
    order_date,
    count(*) as orders,
    count(distinct customer_id) as customers,
    sum(case when is_revenue then units else 0 end) as units,
    sum(case when not is_revenue then 1 else 0 end) as lost_orders,
    cast(sum(case when is_revenue then order_amount_eur else 0 end) as decimal(14, 2)) as revenue_eur,
    cast(
        sum(case when is_revenue then order_amount_eur else 0 end)
        / nullif(sum(case when is_revenue then 1 else 0 end), 0)
        as decimal(14, 2)
    ) as avg_order_value_eur
from {{ ref('int_orders_enriched') }}
group by order_date
