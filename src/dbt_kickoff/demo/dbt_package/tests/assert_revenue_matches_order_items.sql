-- Revenue per day must equal the revenue of the order lines behind it (within rounding), and never be negative.
with from_items as (
    select
        o.order_date,
        sum((items.line_amount) / rates.eur_rate) as items_revenue_eur
    from {{ ref('stg_order_items') }} as items
    inner join {{ ref('stg_orders') }} as o on o.order_id = items.order_id
    inner join {{ ref('currency_rates') }} as rates on rates.currency_code = o.currency_code
    where o.is_revenue
    group by o.order_date
),

shipping as (
    select
        o.order_date,
        sum(o.shipping_amount / rates.eur_rate) as shipping_eur
    from {{ ref('stg_orders') }} as o
    inner join {{ ref('currency_rates') }} as rates on rates.currency_code = o.currency_code
    where o.is_revenue
    group by o.order_date
)

select d.order_date, d.revenue_eur, f.items_revenue_eur, s.shipping_eur
from {{ ref('daily_revenue') }} as d
left join from_items as f on f.order_date = d.order_date
left join shipping as s on s.order_date = d.order_date
where d.revenue_eur < 0
   or abs(d.revenue_eur - coalesce(f.items_revenue_eur, 0) - coalesce(s.shipping_eur, 0)) > 0.05 * d.orders
