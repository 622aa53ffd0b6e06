select id, name, country from {{ ref('customers') }}
