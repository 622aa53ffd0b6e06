-- How far sessions get, per day and channel: product view -> cart -> checkout -> purchase.
-- A session counts for every step up to the furthest one it reached (its other events may still be in flight).
with steps as (
    select
        s.session_id,
        s.session_date,
        s.channel,
        max(
            case e.event_type
                when 'product_view' then 1
                when 'add_to_cart' then 2
                when 'begin_checkout' then 3
                when 'purchase' then 4
                else 0
            end
        ) as furthest_step
    from {{ ref('stg_sessions') }} as s
    left join {{ ref('fct_web_events') }} as e on e.session_id = s.session_id
    group by s.session_id, s.session_date, s.channel
)

select
    session_date,
    channel,
    count(*) as sessions,
    sum(case when furthest_step >= 1 then 1 else 0 end) as product_view_sessions,
    sum(case when furthest_step >= 2 then 1 else 0 end) as add_to_cart_sessions,
    sum(case when furthest_step >= 3 then 1 else 0 end) as checkout_sessions,
    sum(case when furthest_step >= 4 then 1 else 0 end) as purchase_sessions,
    round(cast(sum(case when furthest_step >= 4 then 1 else 0 end) as decimal(12, 4)) / count(*), 4)
        as conversion_rate
from steps
group by session_date, channel
