from celery import shared_task

from provisioning import services


@shared_task(name="provisioning.execute_run")
def execute_run(run_id: int) -> None:
    services.execute_run(run_id=run_id)
