"""The variables a playbook is given, in the one shape every run has them. Free of Django:
the worker (provisioning.execution) and gangplank-lint's fixture runs (catalog.lint_fixtures)
both build them here."""


def extravars(
    *,
    inputs: dict,
    parameters: dict,
    service_id: int,
    service_name: str,
    team: str,
    run_id: int,
    action: str,
    resources_dir: str,
    uses: dict[str, dict],
) -> dict:
    """The playbook's variables: the inputs (plaintext, secret values included), a custom
    action's own inputs (`parameters`: never secrets, and named apart from the template's
    inputs), and `gangplank`, whose `uses` holds the current outputs of the services the
    inputs pick (by input name)."""
    return {
        **inputs,
        **parameters,
        "gangplank": {
            "service_id": service_id,
            "service_name": service_name,
            "team": team,
            "run_id": run_id,
            "action": action,
            "resources_dir": resources_dir,
            "uses": uses,
        },
    }
