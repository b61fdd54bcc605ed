"""The access role planner, table-driven: each case says why its answer is right."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from controller.planner.access_role import (
    DesiredAccessRole,
    TrustCondition,
    check_access_role,
    normalize_trust,
    plan_account,
    trust_policy_length,
    trust_policy_problem,
    verdict,
)
from controller.planner.actions import (
    AttachRolePolicy,
    CreateAccessRole,
    DetachRolePolicy,
    UpdateAccessRoleMaxSession,
    UpdateAccessRoleTrust,
)
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


# ------------------------------------------------------------------ conditions and the maximum session duration
ORG_ID = TrustCondition("StringEquals", "aws:PrincipalOrgID", ("o-abc123",))
MFA = TrustCondition("Bool", "aws:MultiFactorAuthPresent", ("true",))
EXTERNAL = TrustCondition("StringEquals", "sts:ExternalId", ("one", "two"))
CONDITIONED = DesiredAccessRole("Engineer", (MGMT, OPS), (RO,), conditions=(ORG_ID, MFA, EXTERNAL),
                                max_session_duration=7200)
CONDITION = {"StringEquals": {"aws:PrincipalOrgID": "o-abc123", "sts:ExternalId": ["one", "two"]},
             "Bool": {"aws:MultiFactorAuthPresent": "true"}}


def conditioned(document: Any, seconds: int = 7200) -> MemberAccess:
    return MemberAccess(ACCT, ObservedRole(ACCT, "Engineer", f"arn:aws:iam::{ACCT}:role/Engineer", document,
                                           frozenset((RO,)), seconds))


def test_the_desired_trust_policy_carries_the_conditions() -> None:
    statement = json.loads(CONDITIONED.trust_policy_json())["Statement"]
    assert statement == [{"Effect": "Allow", "Principal": {"AWS": sorted([MGMT, OPS])}, "Action": "sts:AssumeRole",
                          "Condition": CONDITION}]
    assert "Condition" not in DESIRED.trust_policy()["Statement"][0], "no conditions: no Condition element"


SAME_CONDITIONS = [
    (trust(OPS, MGMT, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"},
                                 "StringEquals": {"sts:ExternalId": ["one", "two"], "aws:PrincipalOrgID": "o-abc123"}}),
     "operators and keys in another order (JSON objects have no order)"),
    (trust(MGMT, OPS, Condition={**CONDITION, "StringEquals": {"aws:PrincipalOrgID": ["o-abc123"],
                                                               "sts:ExternalId": ["two", "one"]}}),
     "a single value as a one-element list, and values in another order (any one matches)"),
    (trust(MGMT, OPS, Condition={**CONDITION, "StringEquals": {"AWS:PRINCIPALORGID": "o-abc123",
                                                               "STS:ExternalID": ["one", "two"]}}),
     "condition key names in another case (IAM: context key names are not case-sensitive)"),
    (trust(MGMT, OPS, Condition={**CONDITION, "Bool": {"aws:MultiFactorAuthPresent": True}}),
     "a Bool as JSON's true, not the string"),
    ({"Statement": {"Condition": CONDITION, "Action": ["sts:AssumeRole"], "Principal": {"AWS": [MGMT, OPS]},
                    "Effect": "Allow"}, "Version": "2012-10-17"},
     "keys in another order, one statement as an object, the action as a list"),
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ["123456789012", OPS]},
                                              "Action": "sts:AssumeRole", "Condition": CONDITION}]},
     "the account as its id"),
    (urllib.parse.quote(json.dumps(trust(MGMT, OPS, Condition=CONDITION), indent=4)),
     "URL-encoded with white space, as GetRole's raw answer"),
]


@pytest.mark.parametrize(("document", "why"), SAME_CONDITIONS, ids=[w for _, w in SAME_CONDITIONS])
def test_a_trust_policy_equal_in_meaning_is_not_drift(document: Any, why: str) -> None:
    assert normalize_trust(document) == normalize_trust(CONDITIONED.trust_policy()), why
    plan = plan_account(CONDITIONED, conditioned(document))
    assert (plan.actions, plan.differences) == ((), ()), why
    assert verdict(CONDITIONED, ACCT, conditioned(document)).state == "compliant", why


DIFFERENT_CONDITIONS = [
    (trust(MGMT, OPS), "every condition removed"),
    (trust(MGMT, OPS, Condition={"StringEquals": CONDITION["StringEquals"]}), "the MFA condition removed"),
    (trust(MGMT, OPS, Condition={**CONDITION, "StringEquals": {"sts:ExternalId": ["one", "two"]}}),
     "the organization condition removed"),
    (trust(MGMT, OPS, Condition={**CONDITION, "StringEquals": {"aws:PrincipalOrgID": "o-other",
                                                               "sts:ExternalId": ["one", "two"]}}),
     "a value changed"),
    (trust(MGMT, OPS, Condition={**CONDITION, "StringEquals": {"aws:PrincipalOrgID": "o-abc123",
                                                               "sts:ExternalId": ["one", "two", "three"]}}),
     "a value added (widened: any one matches)"),
    (trust(MGMT, OPS, Condition={**CONDITION, "StringLike": CONDITION["StringEquals"]} | {"StringEquals": {}}),
     "the operator changed (StringLike is not StringEquals)"),
    (trust(MGMT, OPS, Condition={**CONDITION, "BoolIfExists": CONDITION["Bool"]} | {"Bool": {}}),
     "IfExists added: a request without the key now passes"),
    (trust(MGMT, OPS, Condition={**CONDITION, "Bool": {"aws:MultiFactorAuthPresent": "false"}}), "Bool flipped"),
    (trust(MGMT, OPS, Condition={**CONDITION, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
     "a condition added outside Git"),
    (trust(MGMT, OPS, Condition="StringEquals"), "a Condition that is not an object: unreadable, put back"),
]


@pytest.mark.parametrize(("document", "why"), DIFFERENT_CONDITIONS, ids=[w for _, w in DIFFERENT_CONDITIONS])
def test_a_missing_or_changed_condition_is_drift_and_put_back(document: Any, why: str) -> None:
    plan = plan_account(CONDITIONED, conditioned(document))
    assert plan.actions == (UpdateAccessRoleTrust(ACCT, "Engineer", CONDITIONED.trust_policy_json()),), why
    assert [d.field for d in plan.differences] == [f"accessRole[{ACCT}].trustPolicy"], why
    assert verdict(CONDITIONED, ACCT, conditioned(document)).reason == "AccessRoleDiffers", why


SESSION_CASES = [
    ("the role's duration as declared: nothing", 7200, CONDITIONED, ()),
    ("a longer duration set outside Git: set back", 43200, CONDITIONED,
     (UpdateAccessRoleMaxSession(ACCT, "Engineer", 7200, 43200),)),
    ("an adopted role with a longer duration and none declared: IAM's default, 3600, applies (CHANGELOG)", 14400,
     DesiredAccessRole("Engineer", (MGMT, OPS), (RO,)), (UpdateAccessRoleMaxSession(ACCT, "Engineer", 3600, 14400),)),
]


@pytest.mark.parametrize(("why", "seconds", "desired", "actions"), SESSION_CASES, ids=[c[0] for c in SESSION_CASES])
def test_the_maximum_session_duration(why: str, seconds: int, desired: DesiredAccessRole,
                                      actions: tuple[Any, ...]) -> None:
    plan = plan_account(desired, conditioned(desired.trust_policy(), seconds))
    assert plan.actions == actions, why
    assert [d.field for d in plan.differences] == [f"accessRole[{ACCT}].maxSessionDuration"] * len(actions), why


def test_a_new_role_is_created_with_its_conditions_and_duration() -> None:
    plan = plan_account(CONDITIONED, MemberAccess(ACCT))
    assert plan.actions[0] == CreateAccessRole(ACCT, "Engineer", CONDITIONED.trust_policy_json(), 7200)


REFUSED = [
    ("an operator IAM does not know", DesiredAccessRole("E", (MGMT,), conditions=(
        TrustCondition("StringEqual", "aws:PrincipalOrgID", ("o-1",)),)), "spec.accessRole.conditions[0].operator"),
    ("IfExists on Null (IAM: any operator but Null)", DesiredAccessRole("E", (MGMT,), conditions=(
        TrustCondition("NullIfExists", "sts:ExternalId", ("false",)),)), "spec.accessRole.conditions[0].operator"),
    ("a duration below IAM's 3600", DesiredAccessRole("E", (MGMT,), max_session_duration=900),
     "spec.accessRole.maxSessionDuration"),
    ("a trust policy over IAM's 2,048 characters", DesiredAccessRole("E", (MGMT,), conditions=tuple(
        TrustCondition("StringEquals", f"aws:PrincipalTag/k{i}", ("v" * 100,)) for i in range(20))),
     "spec.accessRole: the trust policy would be"),
    ("11 managed policies where IAM attaches 10 to a role", DesiredAccessRole("E", (MGMT,), tuple(
        f"arn:aws:iam::aws:policy/P{i}" for i in range(11))), "spec.accessRole.managedPolicyArns: 11 managed"),
]


@pytest.mark.parametrize(("why", "desired", "field"), REFUSED, ids=[c[0] for c in REFUSED])
def test_what_iam_would_refuse_is_refused_before_any_account(why: str, desired: DesiredAccessRole,
                                                             field: str) -> None:
    refusal = check_access_role(desired)
    assert refusal is not None and refusal.startswith(field), (why, refusal)


def test_the_trust_policy_length_is_counted_as_iam_counts_it() -> None:
    fits = DesiredAccessRole("E", (MGMT,), conditions=(ORG_ID, MFA))
    assert trust_policy_length(fits) == len(fits.trust_policy_json()) < 2048
    assert trust_policy_problem(fits) is None
