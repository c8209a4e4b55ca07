"""The portal's inventory pages (platform engineers only): parse the form, call the service."""

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from core.errors import Conflict, InvalidRequest
from inventories import selectors, services
from inventories.forms import HostForm, InventoryForm
from inventories.models import Host, Inventory
from teams import permissions

T = TypeVar("T")


def _inventory(request: HttpRequest, name: str) -> Inventory:
    return get_object_or_404(selectors.inventories_for(user=request.user), name=name)


def _host(inventory: Inventory, name: str) -> Host:
    return get_object_or_404(Host.objects.filter(inventory=inventory), name=name)


def _saved(form: Any, call: Callable[[], T]) -> T | None:
    """What `call` returns, or None with the service's refusal on the form."""
    try:
        return call()
    except InvalidRequest as exc:
        form.add_refusal(exc)
    return None


@login_required
def inventory_list(request: HttpRequest) -> HttpResponse:
    inventories = selectors.inventories_for(user=request.user).order_by("name")
    return render(request, "inventories/list.html", {"inventories": inventories})


@login_required
def detail(request: HttpRequest, name: str) -> HttpResponse:
    inventory = _inventory(request, name)
    return render(request, "inventories/detail.html", {"inventory": inventory})


@login_required
def create(request: HttpRequest) -> HttpResponse:
    permissions.check_model(request.user, Inventory)
    form = InventoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        inventory = _saved(
            form, lambda: services.create_inventory(actor=request.user, **form.cleaned_data)
        )
        if inventory is not None:
            messages.success(request, f"Inventory {inventory.name} created: now add its hosts.")
            return redirect("inventories:detail", name=inventory.name)
    status = 400 if form.errors else 200
    context = {"form": form, "inventory": None}
    return render(request, "inventories/inventory_form.html", context, status=status)


@login_required
def edit(request: HttpRequest, name: str) -> HttpResponse:
    inventory = _inventory(request, name)
    initial = {"name": inventory.name, "description": inventory.description}
    form = InventoryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = _saved(
            form,
            lambda: services.update_inventory(
                actor=request.user, inventory=inventory, **form.cleaned_data
            ),
        )
        if saved is not None:
            messages.success(request, f"Inventory {saved.name} saved.")
            return redirect("inventories:detail", name=saved.name)
    status = 400 if form.errors else 200
    context = {"form": form, "inventory": inventory}
    return render(request, "inventories/inventory_form.html", context, status=status)


@login_required
def delete(request: HttpRequest, name: str) -> HttpResponse:
    """A confirmation page; its POST deletes the inventory and its hosts."""
    inventory = _inventory(request, name)
    context = {"inventory": inventory, "what": f"inventory {inventory.name}",
               "hosts": len(inventory.hosts.all()), "back": "inventories:detail"}  # fmt: skip
    if request.method == "POST":
        try:
            services.delete_inventory(actor=request.user, inventory=inventory)
        except Conflict as exc:
            context["refusal"] = str(exc)
            return render(request, "inventories/confirm_delete.html", context, status=409)
        messages.success(request, f"Inventory {inventory.name} deleted.")
        return redirect("inventories:index")
    return render(request, "inventories/confirm_delete.html", context)


@login_required
def add_host(request: HttpRequest, name: str) -> HttpResponse:
    return _host_page(request, _inventory(request, name), None)


@login_required
def edit_host(request: HttpRequest, name: str, host: str) -> HttpResponse:
    inventory = _inventory(request, name)
    return _host_page(request, inventory, _host(inventory, host))


def _host_page(request: HttpRequest, inventory: Inventory, current: Host | None) -> HttpResponse:
    """The host form: a new host of `inventory`, or `current` changed."""
    initial = HostForm.initial_of(current) if current else None
    form = HostForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if current is None:
            save = partial(services.add_host, actor=request.user, inventory=inventory)
        else:
            save = partial(services.change_host, actor=request.user, host=current)
        saved = _saved(form, lambda: save(**form.cleaned_data))
        if saved is not None:
            done = "saved" if current else f"added to {inventory.name}"
            messages.success(request, f"Host {saved.name} {done}.")
            return redirect("inventories:detail", name=inventory.name)
    status = 400 if form.errors else 200
    context = {"form": form, "inventory": inventory, "host": current}
    return render(request, "inventories/host_form.html", context, status=status)


@login_required
def remove_host(request: HttpRequest, name: str, host: str) -> HttpResponse:
    """A confirmation page; its POST removes the host."""
    inventory = _inventory(request, name)
    current = _host(inventory, host)
    if request.method == "POST":
        services.remove_host(actor=request.user, host=current)
        messages.success(request, f"Host {current.name} removed from {inventory.name}.")
        return redirect("inventories:detail", name=inventory.name)
    context = {"inventory": inventory, "what": f"host {current.name} of {inventory.name}",
               "back": "inventories:detail"}  # fmt: skip
    return render(request, "inventories/confirm_delete.html", context)
