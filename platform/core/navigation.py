"""The navigation's sections and the pages in each, in one place: which link a page lights up.

A page belongs to the section of its URL's full name (`namespace:name`) if listed, else to
that of its namespace, else to none (the home page, the login).
"""

from django.http import HttpRequest
from django.urls import ResolverMatch

SELF_SERVICE = ("catalogue", "services", "approvals", "teams", "dora")
OPERATIONS = (
    "catalogue-status",
    "catalogue-sources",
    "credentials",
    "inventories",
    "audit",
    "admin",
    "api",
)
ACCOUNT = ("tokens", "password")  # under the user's menu

SECTIONS = {
    "catalog:status": "catalogue-status",
    **dict.fromkeys(
        [
            "catalog:sources",
            "catalog:source-new",
            "catalog:source-edit",
            "catalog:source-delete",
            "catalog:source-sync",
            "catalog:source-promote",
            "catalog:source-rotate",
        ],
        "catalogue-sources",
    ),
    "catalog": "catalogue",
    "provisioning:request": "catalogue",  # a request form is the catalogue's
    "provisioning": "services",  # services, runs, update, upgrade, deprovision, extend
    "notes": "services",
    "approvals": "approvals",
    "teams": "teams",
    "notifications": "teams",  # a team's notifications
    "dora": "dora",
    "credentials": "credentials",
    "inventories": "inventories",
    "audit": "audit",
    "audit-export": "audit",
    "admin": "admin",
    "api": "api",
    "accounts": "tokens",
    "password": "password",
}


def section_of(match: ResolverMatch | None) -> str:
    if match is None:
        return ""
    return SECTIONS.get(match.view_name) or SECTIONS.get(match.namespace, "")


def navigation(request: HttpRequest) -> dict:
    """The page's section (`nav_section`) and its group (`nav_group`) for base.html."""
    section = section_of(getattr(request, "resolver_match", None))
    groups = (("self-service", SELF_SERVICE), ("operations", OPERATIONS), ("account", ACCOUNT))
    group = next((name for name, members in groups if section in members), "")
    return {"nav_section": section, "nav_group": group}
