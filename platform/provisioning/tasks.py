from celery import shared_task

from provisioning import cascade, execution, graph, housekeeping, operations, retention
from provisioning.queueing import EXECUTE_RUN


# Sent by name (queueing.dispatch_run): the engine does not import its entry points.
@shared_task(name=EXECUTE_RUN)
def execute_run(run_id: int) -> None:
    execution.execute_run(run_id=run_id)


@shared_task(name="provisioning.dispatch_queued_runs")
def dispatch_queued_runs() -> None:
    housekeeping.dispatch_queued_runs()
    cascade.resume_lost()


@shared_task(name="provisioning.fail_lost_runs")
def fail_lost_runs() -> None:
    housekeeping.fail_lost_runs()
    housekeeping.remove_leftover_data_dirs()


@shared_task(name="provisioning.expire_services")
def expire_services() -> None:
    housekeeping.expire_services()


@shared_task(name="provisioning.schedule_drift_checks")
def schedule_drift_checks() -> None:
    housekeeping.schedule_drift_checks()


@shared_task(name="provisioning.archive_run_logs")
def archive_run_logs() -> None:
    retention.archive_run_logs()


@shared_task(name=graph.CONTINUE_CASCADE)
def continue_cascade(service_id: int) -> None:
    cascade.continue_cascade(service_id=service_id)


@shared_task(name=graph.UPDATE_FOR_DEPENDENCY)
def update_for_dependency(service_id: int) -> None:
    operations.update_for_dependency(service_id=service_id)
