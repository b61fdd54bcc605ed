"""``explain`` (controller/reconciler/execute.py): how an action AWS refused reads in ``Synced``, table-driven.

Each case is one rule of the function, in its order: the member role not assumable, an SCP/RCP denial, an error
meaning the goal holds already, the write's own registration, AWS's quota refusal the operator's limits allowed,
then AWS's words (a reason of its own for known codes, AwsThrottled, AwsError). Each case says which rule it proves
and fails when that rule is taken out or moved after a later one."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from controller.aws.errors import AwsError, TransientAwsError
from controller.aws.gateway import CreationLimitReached
from controller.aws.member import AccountNotAccessible
from controller.planner.actions import (
    WAIT_REASONS,
    Action,
    AttachPolicy,
    Blocked,
    BlockReason,
    CloseAccount,
    CreateAccessRole,
    CreateAccount,
    CreateOU,
    RemoveAccount,
)
from controller.reconciler.execute import explain

ROLE = CreateAccessRole("222222222222", "Engineers", '{"Version": "2012-10-17"}')
OU = CreateOU("r-root", "Production")
ATTACH = AttachPolicy("p-1", "deny-regions", "ou-1", "OU 'Production' (ou-1)")
DENIED = ("User: arn:aws:sts::222222222222:assumed-role/OrganizationAccountAccessRole/awsorg is not authorized to "
          "perform: iam:CreateRole on resource: role Engineers with an explicit deny in a service control policy: "
          "arn:aws:organizations::111111111111:policy/o-abc/service_control_policy/p-deny1")


@dataclass(frozen=True)
class Case:
    why: str
    action: Action
    error: AwsError
    reason: BlockReason | None  # None: explained as done (not a failure)
    contains: str = ""
    retry: bool = True
    slow: bool = False


CASES = [
    Case("a member account whose role cannot be assumed yet is a wait, not an error (before any other rule)",
         ROLE, AccountNotAccessible("AssumeRole", "AccessDenied", "not authorized to perform sts:AssumeRole"),
         "WaitingForAccountAccess", "tried again on the next resync"),
    Case("an SCP's explicit deny of a member-account write names the policy and waits for a person (slow)",
         ROLE, AwsError("CreateRole", "AccessDenied", DENIED), "BlockedByPolicy", "p-deny1", slow=True),
    Case("AccessDenied without a control policy in it is AWS's refusal, not BlockedByPolicy",
         OU, AwsError("CreateOrganizationalUnit", "AccessDeniedException", "no permission"), "AccessDenied",
         "AWS CreateOrganizationalUnit failed: AccessDeniedException: no permission"),
    Case("an error code the registration lists as done means the goal holds: no failure",
         CloseAccount("333333333333"), AwsError("CloseAccount", "AccountAlreadyClosedException", "closed"), None),
    Case("the registration's own words come first: IAM refusing a trust policy is the spec's problem, not retried",
         ROLE, AwsError("CreateRole", "MalformedPolicyDocument", "Invalid principal in policy"), "InvalidSpec",
         "spec.accessRole.trustedPrincipals", retry=False),
    Case("a registration that has nothing to say about an error leaves it to the default wording",
         ROLE, AwsError("CreateRole", "LimitExceeded", "roles per account"), "AwsError",
         "AWS CreateRole failed: LimitExceeded: roles per account"),
    Case("the gateway's own creation guard reads as the planner's CreationLimitReached wait",
         CreateAccount("dev", "dev@example.com", "OrganizationAccountAccessRole", "DENY"), CreationLimitReached(5),
         "CreationLimitReached", "5 account creations are in progress"),
    Case("AWS's own refusal of one creation too many (started elsewhere meanwhile) is the same wait",
         CreateAccount("dev", "dev@example.com", "OrganizationAccountAccessRole", "DENY"),
         AwsError("CreateAccount", "ConstraintViolationException", "too many at once",
                  "ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED"),
         "CreationLimitReached", "ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED"),
    Case("a removal AWS refuses for a reason a person must fix says what to do, at the resync's pace",
         RemoveAccount("444444444444"),
         AwsError("RemoveAccountFromOrganization", "ConstraintViolationException", "cannot leave",
                  "MEMBER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED"),
         "CannotLeaveOrganization", "a person must act", slow=True),
    Case("a policy quota AWS applies below the operator's limits names the setting to lower",
         ATTACH, AwsError("AttachPolicy", "ConstraintViolationException", "too many policies",
                          "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"), "LimitExceeded", "AWSORG_LIMITS"),
    Case("another constraint violation is AWS's LimitExceeded in AWS's words (no setting named)",
         OU, AwsError("CreateOrganizationalUnit", "ConstraintViolationException", "too deep",
                      "OU_DEPTH_LIMIT_EXCEEDED"),
         "LimitExceeded", "ConstraintViolationException (OU_DEPTH_LIMIT_EXCEEDED): too deep"),
    Case("a known AWS code gets its own reason (a duplicate OU: adopted on the next look)",
         OU, AwsError("CreateOrganizationalUnit", "DuplicateOrganizationalUnitException", "exists"), "AlreadyExists",
         "DuplicateOrganizationalUnitException"),
    Case("throttling that outlasted the retries is AwsThrottled, whatever the operation",
         OU, TransientAwsError("CreateOrganizationalUnit", "TooManyRequestsException", "slow down"), "AwsThrottled",
         "TooManyRequestsException"),
    Case("a transient error that is not throttling is AWS's error (AwsError), still retried",
         OU, TransientAwsError("CreateOrganizationalUnit", "ConcurrentModificationException", "busy"), "AwsError"),
    Case("any other code is AwsError with AWS's code and message",
         OU, AwsError("CreateOrganizationalUnit", "InvalidInputException", "bad name"), "AwsError",
         "InvalidInputException: bad name"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.why for c in CASES])
def test_explain(case: Case) -> None:
    found = explain(case.action, case.error)
    if case.reason is None:
        assert found is None
        return
    assert isinstance(found, Blocked)  # one type for "did not happen, and why": the planner's refusals' too
    assert (found.reason, found.retry, found.slow) == (case.reason, case.retry, case.slow)
    assert case.contains in found.message, found.message


def test_only_the_waits_are_waits() -> None:
    """The engine treats a reason in WAIT_REASONS as a wait (looked at again soon, not logged as an error):
    of the explanations above, only the member account not yet assumable and the creation limit are."""
    waits = {c.reason for c in CASES if c.reason in WAIT_REASONS}
    assert waits == {"WaitingForAccountAccess", "CreationLimitReached"}
