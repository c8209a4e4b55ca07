from datetime import UTC, datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.conf import settings as filter_settings
from django_filters.fields import IsoDateTimeField
from django_filters.widgets import BooleanWidget

from core.forms import BootstrapForm


class UTCIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, in UTC: PostgreSQL refuses offsets beyond 15:59, which Python
    accepts up to 23:59."""

    def to_python(self, value) -> datetime | None:
        value = super().to_python(value)
        try:
            return value.astimezone(UTC) if value is not None else None
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


class AnyBooleanWidget(BooleanWidget):
    """Yes, No or Any (django-filter's says "Unknown" for not filtering)."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "Any"), ("true", "Yes"), ("false", "No")]


class CheckboxWidget(forms.CheckboxInput):
    """A filter that widens the list when ticked: "on" from the portal's checkbox, true or 1
    from the API; anything else (absent, false, 0) leaves it narrow."""

    def value_from_datadict(self, data, files, name) -> bool:
        value = data.get(name)
        return isinstance(value, str) and value.lower() in ("on", "true", "1")


class FilterSet(django_filters.FilterSet):
    """The lists' filters, portal and API: Bootstrap's classes, yes/no filters that default to
    "Any", and empty choices named after their filter ("Any status") rather than "---------"."""

    class Meta:
        form = BootstrapForm

    @classmethod
    def get_filters(cls):
        """The class's filters, named once when the class is made: before any form field is
        built from them (the API's schema builds some from the class's own filters)."""
        filters = super().get_filters()
        for filter_ in filters.values():
            if isinstance(filter_, django_filters.BooleanFilter) and "widget" not in filter_.extra:
                filter_.extra["widget"] = AnyBooleanWidget
            elif isinstance(filter_, django_filters.ChoiceFilter):  # ModelChoiceFilter too
                filter_.model = cls._meta.model  # what its label is made from; each set sets it too
                label = filter_.extra.get("empty_label", filter_settings.EMPTY_CHOICE_LABEL)
                if label == filter_settings.EMPTY_CHOICE_LABEL:
                    filter_.extra["empty_label"] = f"Any {str(filter_.label).lower()}"
        return filters
