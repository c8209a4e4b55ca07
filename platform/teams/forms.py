from django import forms

from core.forms import BootstrapFormMixin
from teams.models import Membership


class MembershipForm(BootstrapFormMixin, forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)
