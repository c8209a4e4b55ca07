from django.apps import AppConfig

from approvals.states import ApprovalStatus as P


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"
    # The colour of each status's badge (core's status_badge).
    status_badges = {
        P.PENDING: "warning",
        P.APPROVED: "success",
        P.REJECTED: "danger",
        P.LAPSED: "secondary",
        P.WITHDRAWN: "secondary",
    }
