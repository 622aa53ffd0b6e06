select
    event_id,
    session_id,
    customer_id,
    event_type,
    product_id,
    order_id,
    page_path,
    {{ utc('event_at') }} as event_at,
    {{ utc('received_at') }} as received_at,
    _dlt_load_id as load_id
from {{ source('shop', 'events') }}
