from django import forms

from approvals.services import MAX_COMMENT
from approvals.states import ApprovalStatus
from core.forms import BootstrapForm


class DecisionForm(BootstrapForm):
    comment = forms.CharField(
        required=False,
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to the requester. A rejection needs one.",
    )


class ApprovalFilterForm(BootstrapForm):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *ApprovalStatus.choices], required=False
    )
