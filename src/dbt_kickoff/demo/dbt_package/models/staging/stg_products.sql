select
    product_id,
    sku,
    product_name,
    coalesce(category, 'uncategorised') as category,
    unit_price_eur,
    is_active,
    {{ utc('created_at') }} as created_at
from {{ source('shop', 'products') }}
