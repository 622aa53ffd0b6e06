select
    session_id,
    customer_id,
    customer_id is not null as is_signed_in,
    {{ utc('started_at') }} as started_at,
    cast({{ utc('started_at') }} as date) as session_date,
    device,
    channel,
    upper(country_code) as country_code,
    landing_page
from {{ source('shop', 'sessions') }}
