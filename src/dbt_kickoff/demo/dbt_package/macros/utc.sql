{# A timestamp with time zone as a plain UTC timestamp, the same on every session time zone. #}
{% macro utc(column) -%}
    timezone('UTC', {{ column }})
{%- endmacro %}
