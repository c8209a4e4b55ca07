from datetime import timedelta

from django import template

from metrics.charts import human_duration

register = template.Library()


@register.filter
def span(value: timedelta | None) -> str:
    """A duration as people read it ("2 d 3 h"), "—" when there is none."""
    return human_duration(value)
