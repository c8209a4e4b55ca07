"""How a model's rows reach their owning team: each model declares it as its `access`, and
teams.permissions reads it. A model that declares none is seen by platform engineers only."""

from dataclasses import dataclass

OWNING_TEAM = "Only the owning team's members and platform engineers can do this."


@dataclass(frozen=True)
class Access:
    # The lookup from the model to its owning team ("pk" for a team itself; "" for none).
    team: str = ""
    # A second team that also sees the rows and decides them (a null one: platform
    # engineers), and the user who asked, who never decides.
    approver: str = ""
    requester: str = ""
    # The owning team's rows are its admins' alone, to read (the audit trail).
    admins_only: bool = False
    # The owning team's admins manage the rows (the team itself, its destinations).
    managed: bool = False
    # Every signed-in user sees the rows; platform engineers alone change them (the catalogue).
    everyone_views: bool = False
    # With everyone_views: the lookup to the catalogue source the rows come from (its
    # template's, ending in "source"). Preview versions, and templates that have nothing
    # else, show only to platform engineers, auditors and the source's listed teams.
    preview: str = ""
    # Why anyone else is refused a change.
    refusal: str = OWNING_TEAM

    @property
    def platform_only(self) -> bool:
        """Rows of no team, seen by no one but platform engineers (credentials, hosts)."""
        return not self.team and not self.everyone_views
