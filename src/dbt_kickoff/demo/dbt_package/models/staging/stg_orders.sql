select
    order_id,
    customer_id,
    session_id,
    status,
    status not in (
        {%- for status in var('non_revenue_statuses') %}'{{ status }}'{{ ", " if not loop.last }}{% endfor -%}
    ) as is_revenue,
    upper(currency_code) as currency_code,
    coalesce(shipping_amount, 0) as shipping_amount,
    discount_code,
    {{ utc('ordered_at') }} as ordered_at,
    cast({{ utc('ordered_at') }} as date) as order_date,
    {{ utc('updated_at') }} as updated_at
from {{ source('shop', 'orders') }}
