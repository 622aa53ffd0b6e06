{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='delete+insert',
        on_schema_change=('fail' if dbt_version.startswith('1.') else 'append_new_columns'),
    )
}}
-- on_schema_change: 'fail' on dbt v1 (the runner then rebuilds the model with --full-refresh). dbt v2
-- (2.0.0-preview.196) on DuckDB sees every column's type as changed on each incremental run
-- (dbt-labs/dbt-core#16353), so there it appends new columns instead of failing.
-- Web events with their session's context. Incremental on dlt's load id: each run adds the rows of the loads
-- it has not seen, so late-arriving events (loaded a day after they happened) are picked up too.
select
    e.event_id,
    e.session_id,
    e.customer_id,
    e.event_type,
    e.product_id,
    e.order_id,
    e.page_path,
    e.event_at,
    cast(e.event_at as date) as event_date,
    e.received_at,
    e.load_id,
    s.channel,
    s.device,
    s.country_code
from {{ ref('stg_events') }} as e
left join {{ ref('stg_sessions') }} as s on s.session_id = e.session_id
{% if is_incremental() %}
where e.load_id > (select max(load_id) from {{ this }})
{% endif %}
