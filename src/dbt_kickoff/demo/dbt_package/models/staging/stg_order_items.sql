select
    order_item_id,
    order_id,
    product_id,
    quantity,
    unit_price,
    coalesce(discount_amount, 0) as discount_amount,
    quantity * unit_price - coalesce(discount_amount, 0) as line_amount
from {{ source('shop', 'order_items') }}
