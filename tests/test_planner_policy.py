"""Table-driven tests of the pure ServiceControlPolicy planner: each case says why the expected plan is right."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from controller.planner.actions import (
    AttachPolicy,
    CreatePolicy,
    DeletePolicy,
    DetachPolicy,
    EnablePolicyType,
    Plan,
    TagResource,
    UntagResource,
    UpdatePolicy,
)
from controller.planner.policy import DesiredPolicy, PolicyTarget, plan_policy, plan_policy_delete
from controller.state import ObservedAccount, ObservedOU, ObservedPolicy, OrgSnapshot

ROOT = "r-ab12"
SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
CONTENT = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'
# The same policy as AWS may hold it: other key order and whitespace.
CONTENT_REORDERED = '{"Statement": [{"Resource": "*", "Action": "*", "Effect": "Deny"}], "Version": "2012-10-17"}'
RCP_CONTENT = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}'
OTHER_CONTENT = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}'

PROD = ObservedOU("ou-ab12-11111111", "arn:ou/prod", "Production", ROOT)
NONPROD = ObservedOU("ou-ab12-22222222", "arn:ou/nonprod", "Non-Production", ROOT)
ACCT = ObservedAccount("222222222222", "arn:acct", "Dev", "dev@example.com", "ACTIVE", NONPROD.id)
EVERYWHERE = frozenset({ROOT, PROD.id, NONPROD.id, ACCT.id})


def pol(ident: str, name: str, targets: frozenset[str] | set[str] = frozenset(), *, ptype: str = SCP,
        content: str | None = CONTENT, managed: bool = False, description: str = "") -> ObservedPolicy:
    return ObservedPolicy(ident, f"arn:policy/{ident}", name, description, ptype, managed,
                          None if managed else content, frozenset(targets))


FULL = pol("p-FullAWSAccess", "FullAWSAccess", EVERYWHERE, managed=True)
MINE = "p-mine0001"


def snap(*policies: ObservedPolicy, types: tuple[str, ...] = (SCP,)) -> OrgSnapshot:
    return OrgSnapshot(
        organization_id="o-x",
        management_account_id="111111111111",
        root_id=ROOT,
        root_arn="arn:root",
        ous={PROD.id: PROD, NONPROD.id: NONPROD},
        accounts={ACCT.id: ACCT},
        policies={p.id: p for p in policies},
        enabled_policy_types=frozenset(types),
    )


def d(*targets: str, root: bool = False, name: str = "deny-root", **kw: object) -> DesiredPolicy:
    return DesiredPolicy(  # type: ignore[arg-type]
        object_name="deny-root", name=name, type=kw.pop("type", SCP), content=kw.pop("content", CONTENT), root=root,
        targets=tuple(PolicyTarget(t, f"spec.targets.ids[{i}]") for i, t in enumerate(targets)), **kw,
    )


FULL_PROD = [pol(f"p-other000{i}", f"other-{i}", {PROD.id}) for i in range(1, 10)]  # + FullAWSAccess = 10


@dataclass
class Case:
    reason: str
    desired: DesiredPolicy
    snapshot: OrgSnapshot
    known_id: str | None = None
    tags: dict[str, str] | None = None
    actions: list[object] = field(default_factory=list)
    blocked: str | None = None
    message: str = ""  # a part of the blocked message
    resource_id: str | None = None
    adopted: bool = False
    diff_fields: list[str] = field(default_factory=list)


def attach(target: str, label: str, policy_id: str | None = MINE) -> AttachPolicy:
    return AttachPolicy(policy_id, "deny-root", target, label)


def detach(target: str, label: str) -> DetachPolicy:
    return DetachPolicy(MINE, "deny-root", target, label)


P_LABEL = f"OU 'Production' ({PROD.id})"
N_LABEL = f"OU 'Non-Production' ({NONPROD.id})"

CASES = [
    Case("nothing in AWS: create the policy, then attach it to every target",
         d(PROD.id, NONPROD.id, root=True, tags={"team": "platform"}), snap(FULL),
         actions=[CreatePolicy("deny-root", "", SCP, CONTENT, {"team": "platform"}),
                  AttachPolicy(None, "deny-root", PROD.id, P_LABEL),
                  AttachPolicy(None, "deny-root", NONPROD.id, N_LABEL),
                  AttachPolicy(None, "deny-root", ROOT, f"the root {ROOT}")]),
    Case("the policy type is not enabled: enable it first, and plan nothing else on a snapshot that lacks its "
         "policies", d(PROD.id), snap(types=()), actions=[EnablePolicyType(ROOT, SCP)]),
    Case("RCPs are enabled separately from SCPs", d(PROD.id, type=RCP), snap(FULL),
         actions=[EnablePolicyType(ROOT, RCP)]),
    Case("the type was enabled once (a policy is recorded) and is disabled now: that is drift",
         d(PROD.id), snap(types=()), known_id=MINE, actions=[EnablePolicyType(ROOT, SCP)], resource_id=MINE,
         diff_fields=["policyType"]),
    Case("a policy of the same name and type exists: adopt it (names are unique per type) and attach",
         d(PROD.id), snap(FULL, pol(MINE, "deny-root")), resource_id=MINE, adopted=True,
         actions=[attach(PROD.id, P_LABEL)], diff_fields=["targets"]),
    Case("an RCP of the same name is not this SCP: create", d(), snap(FULL, pol(MINE, "deny-root", ptype=RCP),
                                                                       types=(SCP, RCP)),
         actions=[CreatePolicy("deny-root", "", SCP, CONTENT, {})]),
    Case("in sync: content equal as JSON (key order, whitespace), targets equal",
         d(PROD.id), snap(FULL, pol(MINE, "deny-root", {PROD.id}, content=CONTENT_REORDERED)), known_id=MINE,
         resource_id=MINE),
    Case("content changed: one UpdatePolicy with the content only",
         d(PROD.id), snap(FULL, pol(MINE, "deny-root", {PROD.id}, content=OTHER_CONTENT)), known_id=MINE,
         resource_id=MINE, actions=[UpdatePolicy(MINE, content=CONTENT)], diff_fields=["document"]),
    Case("name and description changed: UpdatePolicy by the recorded id",
         d(PROD.id, name="deny-root-v2", description="no root"), snap(FULL, pol(MINE, "deny-root", {PROD.id})),
         known_id=MINE, resource_id=MINE, actions=[UpdatePolicy(MINE, name="deny-root-v2", description="no root")],
         diff_fields=["name", "description"]),
    Case("a target left the spec: attach before detach, and the detached OU keeps FullAWSAccess",
         d(NONPROD.id), snap(FULL, pol(MINE, "deny-root", {PROD.id})), known_id=MINE, resource_id=MINE,
         actions=[attach(NONPROD.id, N_LABEL), detach(PROD.id, P_LABEL)], diff_fields=["targets"]),
    Case("detaching the last SCP of a target is refused: AWS requires one; nothing else is done either",
         d(NONPROD.id), snap(pol(MINE, "deny-root", {PROD.id})), known_id=MINE, resource_id=MINE,
         blocked="LastPolicyOnTarget", message=f"from {P_LABEL}: it is the only service control policy",
         diff_fields=["targets"]),
    Case("RCPs have no minimum: detaching is fine", d(type=RCP), snap(pol(MINE, "deny-root", {PROD.id}, ptype=RCP),
                                                                      types=(RCP,)),
         known_id=MINE, resource_id=MINE, actions=[DetachPolicy(MINE, "deny-root", PROD.id, P_LABEL)],
         diff_fields=["targets"]),
    Case("an eleventh SCP on a target is refused before anything is created, listing the ten",
         d(PROD.id), snap(FULL, *FULL_PROD), blocked="LimitExceeded",
         message=f"it would make 11 SCPs on {P_LABEL} (10 customer managed: "
         + ", ".join(f"other-{i}" for i in range(1, 10))
         + ", deny-root + FullAWSAccess, which AWS attaches to every target); AWS allows at most 10 SCPs per target"),
    Case("a sixth RCP on a target is refused: RCPs stay at 5",
         d(PROD.id, type=RCP, content=RCP_CONTENT),
         snap(FULL, *[pol(f"p-rcp{i}", f"rcp-{i}", {PROD.id}, ptype=RCP) for i in range(5)], types=(SCP, RCP)),
         blocked="LimitExceeded", message="AWS allows at most 5 RCPs per target"),
    Case("the limit counts per type: five RCPs do not stop an SCP",
         d(PROD.id), snap(FULL, *[pol(f"p-rcp{i}", f"rcp-{i}", {PROD.id}, ptype=RCP) for i in range(5)],
                          types=(SCP, RCP)),
         actions=[CreatePolicy("deny-root", "", SCP, CONTENT, {}), AttachPolicy(None, "deny-root", PROD.id, P_LABEL)]),
    Case("already attached where the target is full: nothing to attach, nothing refused",
         d(PROD.id), snap(FULL, *FULL_PROD[:8], pol(MINE, "deny-root", {PROD.id})), known_id=MINE,
         resource_id=MINE),
    Case("raw id that is not in the organization: a clear refusal naming the field",
         d("ou-ab12-99999999"), snap(FULL), blocked="TargetNotFound",
         message="spec.targets.ids[0]: ou-ab12-99999999 is not a root, OU or account"),
    Case("an account target", d(ACCT.id), snap(FULL),
         actions=[CreatePolicy("deny-root", "", SCP, CONTENT, {}),
                  AttachPolicy(None, "deny-root", ACCT.id, f"account 'Dev' ({ACCT.id})")]),
    Case("the recorded policy was deleted in AWS: recreate it and say it was missing",
         d(PROD.id), snap(FULL), known_id=MINE,
         actions=[CreatePolicy("deny-root", "", SCP, CONTENT, {}), AttachPolicy(None, "deny-root", PROD.id, P_LABEL)],
         diff_fields=["exists"]),
    Case("an AWS managed policy name is never adopted (it cannot be changed)",
         d(name="FullAWSAccess"), snap(FULL), blocked="InvalidSpec", message="AWS managed"),
    Case("tags: the exact set, aws: keys untouched",
         d(PROD.id, tags={"team": "platform"}), snap(FULL, pol(MINE, "deny-root", {PROD.id})), known_id=MINE,
         tags={"team": "x", "old": "1", "aws:y": "z"}, resource_id=MINE,
         actions=[TagResource(MINE, {"team": "platform"}), UntagResource(MINE, ("old",))],
         diff_fields=["tags.team", "tags.old"]),
    Case("Observe: report the differences, write nothing, refuse nothing",
         d(NONPROD.id, observe_only=True), snap(pol(MINE, "deny-root", {PROD.id}, content=OTHER_CONTENT)),
         known_id=MINE, resource_id=MINE, diff_fields=["document", "targets"]),
    Case("Observe: a type that is not enabled is not enabled", d(observe_only=True), snap(types=()),
         blocked="PolicyTypeNotEnabled"),
    Case("Observe: a missing policy is never created", d(observe_only=True), snap(FULL), blocked="NotFound"),
    Case("AWS managed policies' content is not read: no content difference for them",
         d(PROD.id), snap(FULL, pol(MINE, "deny-root", {PROD.id}, content=None)), known_id=MINE, resource_id=MINE),
]


@pytest.mark.parametrize("case", CASES, ids=[c.reason for c in CASES])
def test_plan_policy(case: Case) -> None:
    plan: Plan = plan_policy(case.desired, case.snapshot, case.known_id, case.tags)
    assert list(plan.actions) == case.actions
    assert (plan.blocked.reason if plan.blocked else None) == case.blocked
    if case.message:
        assert plan.blocked is not None and case.message in plan.blocked.message, plan.blocked
    assert plan.resource_id == case.resource_id
    assert plan.adopted == case.adopted
    assert [x.field for x in plan.differences] == case.diff_fields


@pytest.mark.parametrize(
    ("reason", "snapshot", "known_id", "retain", "actions", "blocked"),
    [
        ("Delete: detach from every target, then delete",
         snap(FULL, pol(MINE, "deny-root", {PROD.id, ROOT})), MINE, False,
         [detach(PROD.id, P_LABEL), detach(ROOT, f"the root {ROOT}"), DeletePolicy(MINE, "deny-root")], None),
        ("Retain: leave the policy and its attachments", snap(FULL, pol(MINE, "deny-root", {PROD.id})), MINE, True,
         [], None),
        ("never bound: nothing to delete", snap(FULL), None, False, [], None),
        ("already gone from AWS: done", snap(FULL), MINE, False, [], None),
        ("the only SCP on a target: the deletion waits (AWS forbids detaching it)",
         snap(pol(MINE, "deny-root", {PROD.id})), MINE, False, [], "LastPolicyOnTarget"),
    ],
)
def test_plan_policy_delete(reason: str, snapshot: OrgSnapshot, known_id: str | None, retain: bool,
                            actions: list[object], blocked: str | None) -> None:
    plan = plan_policy_delete(known_id, snapshot, retain=retain)
    assert list(plan.actions) == actions
    assert (plan.blocked.reason if plan.blocked else None) == blocked
    if blocked:
        assert plan.blocked is not None and "the deletion waits" in plan.blocked.message
