select
    customer_id,
    lower(email) as email,
    first_name,
    last_name,
    first_name || ' ' || last_name as full_name,
    upper(country_code) as country_code,
    coalesce(marketing_opt_in, false) as marketing_opt_in,
    {{ utc('signed_up_at') }} as signed_up_at,
    {{ utc('updated_at') }} as updated_at
from {{ source('shop', 'customers') }}
