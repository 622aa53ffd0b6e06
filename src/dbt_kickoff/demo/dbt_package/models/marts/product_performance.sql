-- Views, carts and sales per product over the whole period.
with views as (
    select
        product_id,
        sum(case when event_type = 'product_view' then 1 else 0 end) as views,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_carts
    from {{ ref('fct_web_events') }}
    where product_id is not null
    group by product_id
),

sales as (
    select
        items.product_id,
        sum(items.quantity) as units_sold,
        sum(items.line_amount / rates.eur_rate) as revenue_eur
    from {{ ref('stg_order_items') }} as items
    inner join {{ ref('stg_orders') }} as o on o.order_id = items.order_id
    inner join {{ ref('currency_rates') }} as rates on rates.currency_code = o.currency_code
    where o.is_revenue
    group by items.product_id
)

select
    p.product_id,
    p.sku,
    p.product_name,
    p.category,
    p.is_active,
    coalesce(views.views, 0) as views,
    coalesce(views.add_to_carts, 0) as add_to_carts,
    coalesce(sales.units_sold, 0) as units_sold,
    cast(coalesce(sales.revenue_eur, 0) as decimal(14, 2)) as revenue_eur,
    round(cast(coalesce(views.add_to_carts, 0) as decimal(12, 4)) / nullif(views.views, 0), 4) as cart_rate
from {{ ref('stg_products') }} as p
left join views on views.product_id = p.product_id
left join sales on sales.product_id = p.product_id
