from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What needs the signed-in user now."""
    return render(request, "dashboard/home.html", {"home": selectors.home(user=request.user)})
