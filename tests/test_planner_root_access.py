"""Table-driven tests of the pure root access planner (Organization ``spec.rootAccess``): each case says why."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from controller.planner.actions import (
    Difference,
    DisableRootAccessFeature,
    EnableRootAccessFeature,
    EnableServiceAccess,
)
from controller.planner.organization import DesiredOrganization, ObservedOrganization, plan_organization
from controller.planner.root_access import (
    CREDENTIALS_MANAGEMENT,
    ROOT_SESSIONS,
    DesiredRootAccess,
    plan_root_access,
    with_root_credentials,
)
from controller.state import MemberRootCredentials, ObservedAccount, OrgSnapshot

IAM = "iam.amazonaws.com"
MGMT = "111111111111"


@dataclass
class Case:
    reason: str
    desired: DesiredRootAccess
    enabled: frozenset[str]
    actions: list[object] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)


CASES = [
    Case("both declared, none enabled: both enabled, each a difference",
         DesiredRootAccess(True, True), frozenset(),
         [EnableRootAccessFeature(CREDENTIALS_MANAGEMENT), EnableRootAccessFeature(ROOT_SESSIONS)],
         ["rootAccess.credentialsManagement", "rootAccess.rootSessions"]),
    Case("as declared: nothing to do, no difference",
         DesiredRootAccess(True, True), frozenset({CREDENTIALS_MANAGEMENT, ROOT_SESSIONS})),
    Case("one turned off out of band: only that one is put back",
         DesiredRootAccess(True, True), frozenset({CREDENTIALS_MANAGEMENT}),
         [EnableRootAccessFeature(ROOT_SESSIONS)], ["rootAccess.rootSessions"]),
    Case("false, written so, and enabled: disabled (the only way the operator disables)",
         DesiredRootAccess(True, False), frozenset({CREDENTIALS_MANAGEMENT, ROOT_SESSIONS}),
         [DisableRootAccessFeature(ROOT_SESSIONS)], ["rootAccess.rootSessions"]),
    Case("absent: left as it is, whatever IAM has (enabled outside Git stays)",
         DesiredRootAccess(True, None), frozenset({CREDENTIALS_MANAGEMENT, ROOT_SESSIONS})),
    Case("nothing declared: nothing planned, even with both enabled",
         DesiredRootAccess(), frozenset({CREDENTIALS_MANAGEMENT, ROOT_SESSIONS})),
    Case("false and already disabled: nothing",
         DesiredRootAccess(False, False), frozenset()),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.reason)
def test_plan_root_access(case: Case) -> None:
    plan = plan_root_access(case.desired, case.enabled)
    assert list(plan.actions) == case.actions, case.reason
    assert [d.field for d in plan.differences] == case.fields, case.reason


def test_a_difference_says_what_is_wanted_and_what_iam_has() -> None:
    plan = plan_root_access(DesiredRootAccess(True), frozenset())
    assert plan.differences == (Difference("rootAccess.credentialsManagement", "enabled", "disabled"),)


def _snap() -> OrgSnapshot:
    account = ObservedAccount(MGMT, "arn", "Management", "m@x.io", "ACTIVE", "r-ab12")
    return OrgSnapshot(organization_id="o-x", management_account_id=MGMT, root_id="r-ab12", root_arn="arn:root",
                       accounts={MGMT: account}, feature_set="ALL")


def test_trusted_access_for_iam_comes_before_the_features_iam_refuses_without_it() -> None:
    desired = DesiredOrganization("organization", trusted_services=(IAM,), root_access=DesiredRootAccess(True, True))
    plan = plan_organization(desired, ObservedOrganization(_snap(), trusted=frozenset(), admins={},
                                                           root_features=frozenset()))
    assert plan.actions == (EnableServiceAccess(IAM), EnableRootAccessFeature(CREDENTIALS_MANAGEMENT),
                            EnableRootAccessFeature(ROOT_SESSIONS))
    assert EnableRootAccessFeature(ROOT_SESSIONS).depends_on() is EnableServiceAccess


def test_features_not_read_are_not_planned() -> None:
    """None: IAM could not be asked (a dry run without IAM in the management account): nothing is assumed."""
    desired = DesiredOrganization("organization", trusted_services=(IAM,), root_access=DesiredRootAccess(True, True))
    plan = plan_organization(desired, ObservedOrganization(_snap(), trusted=frozenset({IAM}), admins={}))
    assert plan.actions == () and plan.in_sync


def test_observe_only_plans_nothing_and_reports_the_differences() -> None:
    desired = DesiredOrganization("organization", trusted_services=(IAM,), observe_only=True,
                                  root_access=DesiredRootAccess(True))
    plan = plan_organization(desired, ObservedOrganization(_snap(), trusted=frozenset({IAM}), admins={},
                                                           root_features=frozenset()))
    assert plan.actions == () and [d.field for d in plan.differences] == ["rootAccess.credentialsManagement"]


def test_accounts_with_root_credentials_are_those_read_holding_some() -> None:
    found = {"1": MemberRootCredentials("1", ("password",)), "2": MemberRootCredentials("2"), "3": None,
             "4": MemberRootCredentials("4", error="AssumeRole refused", waiting=True)}
    assert with_root_credentials(found) == ["1"]
    assert found["1"].shown == "password" and found["2"].shown == "none" and found["4"].shown is None  # type: ignore


def test_the_organization_refuses_root_access_without_trusted_access_for_iam() -> None:
    from controller.api.models import OrganizationSpec
    from controller.reconciler.organization import OrganizationAdapter

    spec = OrganizationSpec.model_validate({"rootAccess": {"credentialsManagement": True}})
    refusal = OrganizationAdapter().check("organization", spec, {})
    assert refusal is not None and "spec.rootAccess: IAM manages root access only with trusted access for IAM; add " \
        "'iam.amazonaws.com' to spec.trustedServices" in refusal
    reported_only = OrganizationSpec.model_validate({"rootAccess": {}})  # nothing to enable: root users only read
    assert OrganizationAdapter().check("organization", reported_only, {}) is None
