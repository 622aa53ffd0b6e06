-- What each customer has brought so far.
with orders as (
    select
        customer_id,
        count(*) as orders,
        sum(case when is_revenue then 1 else 0 end) as revenue_orders,
        sum(case when is_revenue then order_amount_eur else 0 end) as lifetime_revenue_eur,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from {{ ref('int_orders_enriched') }}
    group by customer_id
)

select
    c.customer_id,
    c.full_name,
    c.country_code,
    coalesce(countries.region, 'Unknown') as region,
    c.signed_up_at,
    c.marketing_opt_in,
    coalesce(o.orders, 0) as orders,
    o.first_order_at,
    o.last_order_at,
    cast(coalesce(o.lifetime_revenue_eur, 0) as decimal(14, 2)) as lifetime_revenue_eur,
    cast(o.lifetime_revenue_eur / nullif(o.revenue_orders, 0) as decimal(14, 2)) as avg_order_value_eur,
    coalesce(o.orders, 0) > 1 as is_repeat_customer
from {{ ref('stg_customers') }} as c
left join orders as o on o.customer_id = c.customer_id
left join {{ ref('country_codes') }} as countries on countries.country_code = c.country_code
