{# Fails for every row where a later funnel step has more sessions than the step before it. #}
{% test funnel_steps_are_monotonic(model) %}
select *
from {{ model }}
where product_view_sessions > sessions
   or add_to_cart_sessions > product_view_sessions
   or checkout_sessions > add_to_cart_sessions
   or purchase_sessions > checkout_sessions
{% endtest %}
