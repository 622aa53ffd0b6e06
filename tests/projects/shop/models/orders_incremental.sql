{{ config(materialized='incremental', unique_key='id', on_schema_change='fail') }}
select id, amount{% if var('extra_column', false) %}, country{% endif %}
from {{ ref('stg_orders') }}
{% if is_incremental() %}where id > (select coalesce(max(id), 0) from {{ this }}){% endif %}
