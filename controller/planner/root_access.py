"""Plan centralized root access (Organization ``spec.rootAccess``): IAM's two organization features, and what the
member accounts' root users hold. Pure: no I/O, no AWS, no kopf.

IAM calls the features ``RootCredentialsManagement`` and ``RootSessions`` (botocore's iam model, ``FeatureType``;
``ListOrganizationsFeatures`` lists the enabled ones). AWS refuses to enable either without trusted access for
``iam.amazonaws.com`` (``ServiceAccessNotEnabledException``), so the Organization's check asks for it in
``spec.trustedServices`` and the planner puts the trusted-access action before these. A feature declared true and
found disabled is enabled (a difference: drift once the spec was applied, reported only under
``AWSORG_DRIFT_POLICY=report``); declared false and found enabled, disabled; absent, left as it is.

The operator never deletes a member account's root credentials (that takes ``sts:AssumeRoot`` and a person's
decision): it reports the accounts whose root user still has them, as IAM's GetAccountSummary says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controller.planner.actions import Action, Difference, DisableRootAccessFeature, EnableRootAccessFeature
from controller.state import MemberRootCredentials

CREDENTIALS_MANAGEMENT = "RootCredentialsManagement"
ROOT_SESSIONS = "RootSessions"
#: The spec field of each feature.
FEATURE_FIELDS = {CREDENTIALS_MANAGEMENT: "rootAccess.credentialsManagement", ROOT_SESSIONS: "rootAccess.rootSessions"}


@dataclass(frozen=True)
class DesiredRootAccess:
    """Each feature: True (enabled), False (disabled), None (left as it is)."""

    credentials_management: bool | None = None
    root_sessions: bool | None = None

    def wanted(self) -> dict[str, bool]:
        found = {CREDENTIALS_MANAGEMENT: self.credentials_management, ROOT_SESSIONS: self.root_sessions}
        return {feature: on for feature, on in found.items() if on is not None}


@dataclass(frozen=True)
class RootAccessPlan:
    actions: tuple[Action, ...] = ()
    differences: tuple[Difference, ...] = ()


def plan_root_access(desired: DesiredRootAccess, enabled: frozenset[str]) -> RootAccessPlan:
    """``enabled``: the features IAM lists as enabled (none while IAM has no trusted access: it cannot list them)."""
    actions: list[Action] = []
    diffs: list[Difference] = []
    for feature, on in sorted(desired.wanted().items()):
        if on == (feature in enabled):
            continue
        diffs.append(Difference(FEATURE_FIELDS[feature], "enabled" if on else "disabled",
                                "disabled" if on else "enabled"))
        actions.append(EnableRootAccessFeature(feature) if on else DisableRootAccessFeature(feature))
    return RootAccessPlan(tuple(actions), tuple(diffs))


def with_root_credentials(found: Mapping[str, MemberRootCredentials | None]) -> list[str]:
    """The member accounts whose root user has credentials, as last read (sorted)."""
    return sorted(a for a, c in found.items() if c is not None and c.error is None and c.present)
