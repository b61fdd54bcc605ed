"""The access role planner, table-driven: each case says why its answer is right."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from controller.planner.access_role import (
    DesiredAccessRole,
    check_access_role,
    normalize_trust,
    plan_account,
    verdict,
)
from controller.planner.actions import AttachRolePolicy, CreateAccessRole, DetachRolePolicy, UpdateAccessRoleTrust
from controller.state import MemberAccess, ObservedRole

ACCT = "210987654321"
MGMT = "arn:aws:iam::123456789012:root"
OPS = "arn:aws:iam::123456789012:role/ops"
RO = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
DESIRED = DesiredAccessRole("Engineer", (MGMT, OPS), (RO,))


def trust(*principals: Any, **extra: Any) -> dict[str, Any]:
    value: Any = principals[0] if len(principals) == 1 else list(principals)
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": value}, "Action": "sts:AssumeRole", **extra}]}


def role(document: Any = None, attached: tuple[str, ...] = (RO,)) -> MemberAccess:
    doc = trust(MGMT, OPS) if document is None else document
    return MemberAccess(ACCT, ObservedRole(ACCT, "Engineer", f"arn:aws:iam::{ACCT}:role/Engineer", doc,
                                           frozenset(attached)))


SAME_TRUST = [
    (trust(OPS, MGMT), "principals in another order"),
    (trust("123456789012", OPS), "an account id is its root ARN (IAM stores it so)"),
    (json.dumps(trust(MGMT, OPS)), "a JSON string, as boto3 gives it unparsed"),
    (urllib.parse.quote(json.dumps(trust(MGMT, OPS))), "URL-encoded, as GetRole's raw answer carries it"),
    (trust(MGMT, OPS, Sid="Engineers"), "a Sid does not change what the policy allows"),
    ({"Version": "2012-10-17", "Statement": trust(MGMT, OPS)["Statement"][0]}, "one statement, not a list"),
    ({**trust(MGMT, OPS), "Statement": [{**trust(MGMT, OPS)["Statement"][0], "Action": ["STS:AssumeRole"]}]},
     "actions are case-insensitive, a string or a list"),
]


@pytest.mark.parametrize(("document", "why"), SAME_TRUST, ids=[w for _, w in SAME_TRUST])
def test_the_same_trust_policy_is_the_same(document: Any, why: str) -> None:
    assert normalize_trust(document) == normalize_trust(DESIRED.trust_policy()), why
    assert plan_account(DESIRED, role(document)).actions == (), why


DIFFERENT_TRUST = [
    (trust(MGMT, OPS, "*"), "widened to everyone"),
    (trust(MGMT, OPS, "arn:aws:iam::999999999999:root"), "widened to another account"),
    (trust(MGMT), "narrowed: a declared principal removed"),
    (trust(MGMT, OPS, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}), "a condition added"),
    ({"Version": "2012-10-17", "Statement": [*trust(MGMT, OPS)["Statement"],
                                             {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                              "Action": "sts:AssumeRole"}]}, "a service admitted too"),
    ({"Version": "2012-10-17", "Statement": [{**trust(MGMT, OPS)["Statement"][0], "Effect": "Deny"}]},
     "Deny is not Allow"),
    ("not json", "unreadable: put back"),
]


@pytest.mark.parametrize(("document", "why"), DIFFERENT_TRUST, ids=[w for _, w in DIFFERENT_TRUST])
def test_a_changed_trust_policy_is_drift_and_put_back(document: Any, why: str) -> None:
    plan = plan_account(DESIRED, role(document))
    assert plan.actions == (UpdateAccessRoleTrust(ACCT, "Engineer", DESIRED.trust_policy_json()),), why
    assert [d.field for d in plan.differences] == [f"accessRole[{ACCT}].trustPolicy"], why
    assert plan.fresh == (), "a correction, not new work"


CASES = [
    ("no role in an account that never had its baseline: created, policies attached, new work (not drift)",
     MemberAccess(ACCT), False,
     [CreateAccessRole(ACCT, "Engineer", DESIRED.trust_policy_json()), AttachRolePolicy(ACCT, "Engineer", RO)],
     [], True),
    ("no role in an account that was compliant: deleted out of band, drift",
     MemberAccess(ACCT), True,
     [CreateAccessRole(ACCT, "Engineer", DESIRED.trust_policy_json()), AttachRolePolicy(ACCT, "Engineer", RO)],
     [f"accessRole[{ACCT}]"], False),
    ("a policy attached outside Git: detached", role(attached=(RO, ADMIN)), True,
     [DetachRolePolicy(ACCT, "Engineer", ADMIN)], [f"accessRole[{ACCT}].managedPolicyArns"], False),
    ("a declared policy detached outside Git: attached again", role(attached=()), True,
     [AttachRolePolicy(ACCT, "Engineer", RO)], [f"accessRole[{ACCT}].managedPolicyArns"], False),
    ("an existing role adopted as it is: nothing to do", role(), False, [], [], False),
    ("the role could not be assumed yet: nothing planned (a wait)",
     MemberAccess(ACCT, error="AssumeRole refused", waiting=True), False, [], [], False),
    ("another error: nothing planned (the account's failure)", MemberAccess(ACCT, error="GetRole: boom"), False,
     [], [], False),
]


@pytest.mark.parametrize(("why", "access", "was_compliant", "actions", "fields", "fresh"), CASES,
                         ids=[c[0] for c in CASES])
def test_plan_account(why: str, access: MemberAccess, was_compliant: bool, actions: list[Any], fields: list[str],
                      fresh: bool) -> None:
    plan = plan_account(DESIRED, access, was_compliant=was_compliant)
    assert list(plan.actions) == actions, why
    assert [d.field for d in plan.differences] == fields, why
    assert plan.fresh == (plan.actions if fresh else ()), why


VERDICTS = [
    ("never looked at", None, "pending", "NotObserved"),
    ("the role is not assumable yet", MemberAccess(ACCT, error="AssumeRole refused", waiting=True), "pending",
     "WaitingForAccountAccess"),
    ("an AWS error in the account", MemberAccess(ACCT, error="GetRole: AccessDenied"), "failed", "BaselineFailed"),
    ("no role", MemberAccess(ACCT), "failed", "AccessRoleMissing"),
    ("trust widened", role(trust(MGMT, OPS, "*")), "failed", "AccessRoleDiffers"),
    ("as declared", role(), "compliant", "Compliant"),
]


@pytest.mark.parametrize(("why", "access", "state", "reason"), VERDICTS, ids=[v[0] for v in VERDICTS])
def test_verdict(why: str, access: MemberAccess | None, state: str, reason: str) -> None:
    found = verdict(DESIRED, ACCT, access)
    assert (found.state, found.reason) == (state, reason), why
    assert found.message


def test_the_desired_trust_policy_admits_exactly_the_principals() -> None:
    doc = json.loads(DESIRED.trust_policy_json())
    assert doc["Statement"] == [{"Effect": "Allow", "Principal": {"AWS": sorted([MGMT, OPS])},
                                 "Action": "sts:AssumeRole"}]
    single = DesiredAccessRole("Engineer", (MGMT,)).trust_policy()
    assert single["Statement"][0]["Principal"] == {"AWS": MGMT}


def test_the_role_the_operator_assumes_is_never_managed() -> None:
    assert check_access_role(DesiredAccessRole("OrganizationAccountAccessRole", (MGMT,))) is not None
    assert check_access_role(DesiredAccessRole("Admin", (MGMT,), via_role="Admin")) is not None
    assert check_access_role(DESIRED) is None
    # A principal IAM refuses in a trust policy is refused before any account is touched, naming the field.
    refusal = check_access_role(DesiredAccessRole("Engineer", (MGMT, "arn:aws:iam::123456789012:group/admins")))
    assert refusal is not None and refusal.startswith("spec.accessRole.trustedPrincipals[1]: ")
