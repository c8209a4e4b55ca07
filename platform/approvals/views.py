from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from approvals import selectors, services
from approvals.forms import ApprovalFilterForm, DecisionForm
from approvals.states import ApprovalStatus
from core.errors import Conflict, InvalidRequest
from core.views import get_permitted_or_404, paginate
from teams import permissions


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Requests the user may see, pending ones first by deadline; those they decide marked."""
    data = request.GET if "status" in request.GET else {"status": ApprovalStatus.PENDING}
    form = ApprovalFilterForm(data)
    status = form.cleaned_data["status"] if form.is_valid() else ApprovalStatus.PENDING
    approvals = selectors.approvals_for(user=request.user, status=status or None)
    page = paginate(request, approvals)
    decidable = selectors.decidable_ids(
        user=request.user, approvals=approvals.filter(pk__in=[a.pk for a in page])
    )
    context = {"page": page, "filter_form": form, "decidable": decidable, "status": status}
    return render(request, "approvals/inbox.html", context)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    # Deciding is asked of the approval before the form is read: a 404, then a 403.
    decide = permissions.DECIDE if request.method == "POST" else None
    approval = _approval(request, pk, action=decide)
    form = DecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = _decide(request, approval, form)
        if status == 200:
            return redirect("approvals:detail", pk=approval.pk)
        if status == 409:  # decided meanwhile: show the decision that won, not the request
            approval = _approval(request, pk, action=permissions.VIEW)
    context = {
        "approval": approval,
        "form": form,
        "can_decide": approval.is_pending
        and permissions.can(request.user, permissions.DECIDE, approval),
        "run_visible": permissions.can(request.user, permissions.VIEW, approval.run),
    }
    return render(request, "approvals/detail.html", context, status=status)


def _approval(request: HttpRequest, pk: int, *, action: str | None = None):
    return get_permitted_or_404(
        request, selectors.approvals_for(user=request.user), action=action, pk=pk
    )


def _decide(request: HttpRequest, approval, form: DecisionForm) -> int:
    """Approve or reject as the button says; refusals go onto the form or into a message."""
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        form.add_error(None, "Choose Approve or Reject.")
        return 400
    if not form.is_valid():
        return 400
    act = services.approve if decision == "approve" else services.reject
    try:
        act(user=request.user, approval=approval, comment=form.cleaned_data["comment"])
    except InvalidRequest as exc:
        form.add_refusal(exc)
        return 400
    except Conflict as exc:
        messages.error(request, str(exc))
        return 409
    done = "approved: its run is queued" if decision == "approve" else "rejected"
    messages.success(request, f"Request {done}.")
    return 200
