"""Table-driven tests of the pure Organization planner: each case says why the expected plan is right."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import pytest

from controller.planner.actions import (
    DeregisterDelegatedAdministrator,
    DisablePolicyType,
    EnableAllFeatures,
    EnablePolicyType,
    EnableServiceAccess,
    FinalizeAllFeatures,
    RegisterDelegatedAdministrator,
)
from controller.planner.organization import (
    DesiredAdmin,
    DesiredOrganization,
    ObservedOrganization,
    plan_organization,
    plan_organization_delete,
)
from controller.state import ObservedAccount, ObservedHandshake, ObservedPolicy, OrgSnapshot

ROOT = "r-ab12"
MGMT = "111111111111"
SHARED = "222222222222"
AUDIT = "333333333333"
SCP = "SERVICE_CONTROL_POLICY"
TAG = "TAG_POLICY"
CONFIG = "config.amazonaws.com"
TRAIL = "cloudtrail.amazonaws.com"


def acct(ident: str, name: str) -> ObservedAccount:
    return ObservedAccount(ident, f"arn:aws:organizations::{MGMT}:account/o-x/{ident}", name, f"{ident}@x.io",
                           "ACTIVE", ROOT)


def policy(ident: str, name: str, ptype: str, targets: tuple[str, ...] = (), managed: bool = False) -> ObservedPolicy:
    return ObservedPolicy(ident, f"arn:{ident}", name, "", ptype, managed, None if managed else "{}",
                          frozenset(targets))


def snap(feature_set: str = "ALL", types: tuple[str, ...] = (), policies: tuple[ObservedPolicy, ...] = ()
         ) -> OrgSnapshot:
    return OrgSnapshot(
        organization_id="o-x", management_account_id=MGMT, root_id=ROOT, root_arn="arn:root",
        accounts={a.id: a for a in (acct(MGMT, "Management"), acct(SHARED, "Shared Services"),
                                    acct(AUDIT, "Audit"))},
        policies={p.id: p for p in policies}, enabled_policy_types=frozenset(types), feature_set=feature_set,
    )


def d(**kw: object) -> DesiredOrganization:
    return DesiredOrganization(object_name="organization", **kw)  # type: ignore[arg-type]


def admin(account: str, principal: str = CONFIG) -> DesiredAdmin:
    return DesiredAdmin(account, principal, "spec.delegatedAdministrators[0]")


def hs(ident: str, action: str, state: str = "OPEN") -> ObservedHandshake:
    return ObservedHandshake(ident, action, state)


def obs(snapshot: OrgSnapshot | None = None, handshakes: tuple[ObservedHandshake, ...] = (),
        trusted: tuple[str, ...] = (), admins: Mapping[str, frozenset[str]] | None = None) -> ObservedOrganization:
    return ObservedOrganization(snapshot or snap(), handshakes, frozenset(trusted), admins or {})


@dataclass
class Case:
    reason: str
    desired: DesiredOrganization
    observed: ObservedOrganization
    actions: list[object] = field(default_factory=list)
    blocked: str | None = None
    diff_fields: list[str] = field(default_factory=list)


CB = snap("CONSOLIDATED_BILLING")
CASES = [
    Case("all features, nothing declared beyond them: nothing to do", d(), obs()),
    # ------------------------------------------------------------------------------ feature set
    Case("consolidated billing only: start AWS's EnableAllFeatures handshake, and nothing else yet (trusted "
         "access and delegated administration need all features)",
         d(trusted_services=(CONFIG,), policy_types=frozenset({SCP})), obs(CB),
         actions=[EnableAllFeatures()], diff_fields=["featureSet"]),
    Case("the handshake is open and invited accounts have not all approved: wait, do not start another",
         d(), obs(CB, (hs("h-1", "ENABLE_ALL_FEATURES"),)), blocked="WaitingForAllFeatures",
         diff_fields=["featureSet"]),
    Case("every invited account approved (AWS sent APPROVE_ALL_FEATURES): the management account finalizes",
         d(), obs(CB, (hs("h-1", "ENABLE_ALL_FEATURES", "ACCEPTED"), hs("h-2", "APPROVE_ALL_FEATURES"))),
         actions=[FinalizeAllFeatures("h-2")], diff_fields=["featureSet"]),
    Case("a declined or expired handshake is over: a new one is started",
         d(), obs(CB, (hs("h-1", "ENABLE_ALL_FEATURES", "DECLINED"),)), actions=[EnableAllFeatures()],
         diff_fields=["featureSet"]),
    Case("never downgraded: AWS cannot go back to consolidated billing, so the spec is refused, not retried",
         d(feature_set="CONSOLIDATED_BILLING"), obs(), blocked="ImmutableField"),
    Case("consolidated billing declared and held: nothing to do", d(feature_set="CONSOLIDATED_BILLING"), obs(CB)),
    Case("Observe: the missing all features is reported, no handshake started",
         d(observe_only=True), obs(CB), diff_fields=["featureSet"]),
    # ------------------------------------------------------------------------------ policy types
    Case("a declared policy type not enabled: enable it on the root",
         d(policy_types=frozenset({SCP, TAG})), obs(snap(types=(SCP,))),
         actions=[EnablePolicyType(ROOT, TAG)], diff_fields=["policyTypes"]),
    Case("policyTypes absent: policy types are not managed, an enabled one is left alone",
         d(), obs(snap(types=(SCP, TAG)))),
    Case("an enabled type that nothing declares and no policy of which is attached: disabled (drift)",
         d(policy_types=frozenset({SCP})), obs(snap(types=(SCP, TAG), policies=(policy("p-t", "tags", TAG),))),
         actions=[DisablePolicyType(ROOT, TAG)], diff_fields=["policyTypes"]),
    Case("an enabled type nothing declares but with a policy attached: disabling would detach it, so it is "
         "reported and left enabled",
         d(policy_types=frozenset({SCP})),
         obs(snap(types=(SCP, TAG), policies=(policy("p-t", "tags", TAG, (ROOT,)),))),
         diff_fields=["policyTypes"]),
    Case("only AWS's managed default policy of the type is attached: that does not count, the type is disabled",
         d(policy_types=frozenset()),
         obs(snap(types=(SCP,), policies=(policy("p-FullAWSAccess", "FullAWSAccess", SCP, (ROOT,), True),))),
         actions=[DisablePolicyType(ROOT, SCP)], diff_fields=["policyTypes"]),
    Case("a type a ServiceControlPolicy object declares is never disabled, even with nothing attached yet",
         d(policy_types=frozenset()),
         replace(obs(snap(types=("RESOURCE_CONTROL_POLICY",))), needed_types=frozenset({"RESOURCE_CONTROL_POLICY"}))),
    # ------------------------------------------------------------------------------ trusted access
    Case("a declared trusted service without trusted access: enable it",
         d(trusted_services=(TRAIL, CONFIG)), obs(trusted=(TRAIL,)),
         actions=[EnableServiceAccess(CONFIG)], diff_fields=["trustedServices"]),
    Case("trusted access enabled outside Git: at least these, so never disabled and not a difference",
         d(trusted_services=(CONFIG,)), obs(trusted=(CONFIG, "sso.amazonaws.com"))),
    # ------------------------------------------------------------------------------ delegated administrators
    Case("trusted access first, then the delegated administrator (AWS refuses it the other way round)",
         d(trusted_services=(CONFIG,), admins=(admin(SHARED),)), obs(),
         actions=[EnableServiceAccess(CONFIG),
                  RegisterDelegatedAdministrator(SHARED, CONFIG, "account 'Shared Services' (222222222222)")],
         diff_fields=["trustedServices", f"delegatedAdministrators[{CONFIG}]"]),
    Case("exactly the declared set for a declared service: another account is deregistered before the declared "
         "one is registered (services with one administrator need that order)",
         d(trusted_services=(CONFIG,), admins=(admin(SHARED),)),
         obs(trusted=(CONFIG,), admins={CONFIG: frozenset({AUDIT})}),
         actions=[DeregisterDelegatedAdministrator(AUDIT, CONFIG, "account 'Audit' (333333333333)"),
                  RegisterDelegatedAdministrator(SHARED, CONFIG, "account 'Shared Services' (222222222222)")],
         diff_fields=[f"delegatedAdministrators[{CONFIG}]"]),
    Case("administrators of services the spec does not name are not the operator's: left alone",
         d(trusted_services=(CONFIG,), admins=(admin(SHARED),)),
         obs(trusted=(CONFIG,), admins={CONFIG: frozenset({SHARED}), "guardduty.amazonaws.com": frozenset({AUDIT})})),
    Case("the management account can never be a delegated administrator: refused before any call",
         d(trusted_services=(CONFIG,), admins=(admin(MGMT),)), obs(trusted=(CONFIG,)), blocked="InvalidSpec"),
    Case("a raw accountId that is not a member of the organization: refused, naming the field",
         d(trusted_services=(CONFIG,), admins=(admin("999999999999"),)), obs(trusted=(CONFIG,)),
         blocked="InvalidSpec"),
    Case("Observe: differences reported, nothing written",
         d(trusted_services=(CONFIG,), admins=(admin(SHARED),), observe_only=True), obs(),
         diff_fields=["trustedServices", f"delegatedAdministrators[{CONFIG}]"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.reason for c in CASES])
def test_plan_organization(case: Case) -> None:
    plan = plan_organization(case.desired, case.observed)
    assert [d.field for d in plan.differences] == case.diff_fields, case.reason
    assert list(plan.actions) == case.actions, case.reason
    assert (plan.blocked.reason if plan.blocked else None) == case.blocked, case.reason
    assert plan.resource_id == "o-x"


def test_a_kept_policy_type_names_the_attached_policies() -> None:
    plan = plan_organization(d(policy_types=frozenset({SCP})), obs(snap(types=(SCP, TAG), policies=(
        policy("p-t", "cost-center-tags", TAG, (ROOT,)),))))
    assert "TAG_POLICY (kept: cost-center-tags attached)" in (plan.differences[0].actual or "")


def test_waiting_for_all_features_says_what_a_person_does() -> None:
    plan = plan_organization(d(), obs(CB, (hs("h-1", "ENABLE_ALL_FEATURES"),)))
    assert plan.blocked is not None and "h-1" in plan.blocked.message and "approve" in plan.blocked.message
    assert plan.blocked.retry


@dataclass
class DeleteCase:
    reason: str
    retain: bool
    admins: Mapping[str, frozenset[str]]
    actions: list[object]


DELETE_CASES = [
    DeleteCase("Retain (default): forget, nothing written", True, {CONFIG: frozenset({SHARED})}, []),
    DeleteCase("Delete: the declared delegated administrator is deregistered; trusted access and policy types are "
               "never touched", False, {CONFIG: frozenset({SHARED, AUDIT})},
               [DeregisterDelegatedAdministrator(SHARED, CONFIG, "account 'Shared Services' (222222222222)")]),
    DeleteCase("Delete: a declared administrator already gone is not deregistered again", False, {}, []),
]


@pytest.mark.parametrize("case", DELETE_CASES, ids=[c.reason for c in DELETE_CASES])
def test_plan_organization_delete(case: DeleteCase) -> None:
    desired = d(trusted_services=(CONFIG,), admins=(admin(SHARED),), policy_types=frozenset({SCP}))
    observed = replace(obs(snap(types=(SCP,)), trusted=(CONFIG,)), admins=case.admins)
    plan = plan_organization_delete(desired, observed, retain=case.retain)
    assert list(plan.actions) == case.actions, case.reason
