-- One row per order: totals in the order's currency and in EUR, and where the customer lives.
with items as (
    select
        order_id,
        count(*) as line_count,
        sum(quantity) as units,
        sum(line_amount) as items_amount
    from {{ ref('stg_order_items') }}
    group by order_id
)

select
    o.order_id,
    o.customer_id,
    o.session_id,
    o.status,
    o.is_revenue,
    o.order_date,
    o.ordered_at,
    o.currency_code,
    c.country_code,
    coalesce(countries.region, 'Unknown') as region,
    coalesce(items.line_count, 0) as line_count,
    coalesce(items.units, 0) as units,
    coalesce(items.items_amount, 0) + o.shipping_amount as order_amount,
    cast((coalesce(items.items_amount, 0) + o.shipping_amount) / rates.eur_rate as decimal(14, 2)) as order_amount_eur
from {{ ref('stg_orders') }} as o
left join items on items.order_id = o.order_id
left join {{ ref('stg_customers') }} as c on c.customer_id = o.customer_id
left join {{ ref('country_codes') }} as countries on countries.country_code = c.country_code
left join {{ ref('currency_rates') }} as rates on rates.currency_code = o.currency_code
