"""The import graph of platform/: no cycles, layers that call downward only.

grimp reads every import statement, those inside functions included, so a cycle cannot hide
behind a function-level import.
"""

import pathlib

import grimp
import pytest

PLATFORM = pathlib.Path(__file__).resolve().parent.parent / "platform"
PACKAGES = sorted(
    p.name for p in PLATFORM.iterdir() if (p / "__init__.py").exists() and p.name != "__pycache__"
)
# Apps that core, the shared toolbox, may not know.
APPS = sorted(set(PACKAGES) - {"core", "gangplank"})


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None)


def _module_graph(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    modules = {m for m in graph.modules if ".migrations" not in m}
    return {m: graph.find_modules_directly_imported_by(m) & modules for m in modules}


def strongly_connected(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """Tarjan's algorithm, iteratively: the parts with more than one module (cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    parts: list[frozenset[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                part = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    part.add(member)
                    if member == node:
                        break
                if len(part) > 1:
                    parts.append(frozenset(part))
    return parts


def test_it_finds_a_cycle_through_three_modules():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(edges) == [frozenset({"a", "b", "c"})]


def test_it_finds_no_cycle_in_a_chain():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_it_has_no_import_cycles(graph):
    cycles = strongly_connected(_module_graph(graph))
    assert cycles == []


def test_it_keeps_core_free_of_the_apps(graph):
    found = {
        (importer, imported)
        for importer in graph.find_descendants("core") | {"core"}
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.partition(".")[0] in APPS
    }
    assert found == set()


# provisioning's layers, highest first: a module imports only from the layers below its own
# (and, within a layer marked dependent, from its siblings). Every module of the app has its
# place here, so that a new one cannot slip past the check.
PROVISIONING_LAYERS = (
    grimp.Layer("urls"),
    # Entry points: the portal, the API, the admin, the worker's tasks.
    grimp.Layer("admin", "api", "run_views", "tasks", "views"),
    grimp.Layer("filtersets", "forms", "presentation"),
    # Through the services: a deprovision that cascades to the services that use one;
    # custom actions and the updates dependencies ask for.
    grimp.Layer("cascade", "operations"),
    # Writes; they decide approval policy and call approvals' services or the engine.
    grimp.Layer("services", "retention"),
    grimp.Layer("selectors"),
    # The engine: what beat does, then the queue and the worker's side of a run, then the
    # service's state machine; then the rules and inputs they apply.
    grimp.Layer("housekeeping"),
    grimp.Layer("execution", "queueing"),
    # The graph of services that use services: edges, outputs given, teardown order.
    grimp.Layer("graph"),
    grimp.Layer("transitions"),
    grimp.Layer("inputs"),
    # What inputs with choices may be set to (for the forms and every validation).
    grimp.Layer("choices"),
    grimp.Layer("rules"),
    grimp.Layer("models"),
    grimp.Layer("states"),
    # The ansible-runner wrapper and what it runs: no Django.
    grimp.Layer("runner"),
    grimp.Layer("callback_plugin", "logarchive", "payload", "sandbox", "sandbox_init", "variables"),
)
UNLAYERED = {"provisioning", "provisioning.apps", "provisioning.migrations"}


def test_it_places_every_provisioning_module_in_a_layer(graph):
    placed = {
        f"provisioning.{tail}" for layer in PROVISIONING_LAYERS for tail in layer.module_tails
    }
    top_level = {
        ".".join(module.split(".")[:2]) for module in graph.find_descendants("provisioning")
    }
    assert top_level - placed - UNLAYERED == set()


def test_it_keeps_provisioning_free_of_notes(graph):
    """Notes are about services: notes depends on provisioning, never the reverse."""
    assert not graph.chain_exists(importer="provisioning", imported="notes", as_packages=True)


def test_it_keeps_provisioning_layers_calling_downward(graph):
    illegal = graph.find_illegal_dependencies_for_layers(
        layers=PROVISIONING_LAYERS, containers={"provisioning"}
    )
    # Each as "importer -> ... -> imported", the lower layer's module first.
    found = sorted(
        " -> ".join([",".join(sorted(route.heads)), *route.middle, ",".join(sorted(route.tails))])
        for dependency in illegal
        for route in dependency.routes
    )
    assert found == []


# The ansible-runner wrapper and what it hands a run (credentials' injection, masking) know
# nothing of Django: the worker calls them with plain data.
FREE_OF_DJANGO = (
    "provisioning.runner",
    "provisioning.sandbox",
    "provisioning.callback_plugin",
    "catalog.galaxy",
    "catalog.requirements",
    "provisioning.variables",
    "provisioning.logarchive",
    "core.masking",
    "core.access",
)


def test_it_keeps_the_runner_and_its_masking_free_of_django():
    graph = grimp.build_graph(*PACKAGES, include_external_packages=True, cache_dir=None)
    reached = {
        module: sorted(
            m for m in graph.find_upstream_modules(module) | {module} if m.startswith("django")
        )
        for module in FREE_OF_DJANGO
    }
    assert reached == {module: [] for module in FREE_OF_DJANGO}
