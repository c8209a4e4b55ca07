from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import InvalidRequest
from core.types import HtmxHttpRequest
from core.views import get_permitted_or_404
from notes import services
from notes.forms import NoteForm
from notes.presentation import notes_and_timeline
from provisioning import selectors as provisioning_selectors
from provisioning.views import render_service


@login_required
@require_POST
def add_note(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Post a note: htmx gets the Notes section (and the timeline) back, a plain form post a
    redirect to the service page, or the page again with the form's error (400)."""
    service = get_permitted_or_404(
        request, provisioning_selectors.services_for(user=request.user), pk=pk
    )
    form = NoteForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.add_note(user=request.user, service=service, body=form.cleaned_data["body"])
        except InvalidRequest as exc:
            form.add_refusal(exc)
        else:
            if not request.htmx:
                messages.success(request, "Note added.")
                return redirect(reverse("provisioning:service", args=[service.pk]) + "#notes")
            form, status = NoteForm(), 200
    if not request.htmx:
        return render_service(request, service, note_form=form, status=status)
    context = {
        "service": service,
        "note_form": form,
        **notes_and_timeline(user=request.user, service=service),
    }
    return render(request, "notes/_notes_response.html", context, status=status)
