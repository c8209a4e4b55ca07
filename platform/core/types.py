"""Types the apps' signatures share."""

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

# Who acts: a user from the database, or `request.user`, signed in or not (the permission
# rules give the anonymous nothing).
AnyUser = User | AnonymousUser


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it."""

    htmx: HtmxDetails
