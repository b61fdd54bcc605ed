"""Plan an AwsAccount: desired spec + observed organization + creation requests -> actions. Pure.

Account creation is the one operation that must never be duplicated and never lost, and AWS's
CreateAccount takes no idempotency token.  So creation is a small state machine recorded in the
object's status, and every step first looks for what an earlier (possibly crashed) attempt left:

1. no account, no intent   -> RecordCreationIntent (status only; nothing is called in AWS)
2. intent, no request id   -> an account with the email exists: adopt it;
                              a CreateAccount request for this name since the intent: bind it;
                              else (and fewer than 5 creations in flight) CreateAccount
3. request id recorded     -> IN_PROGRESS: wait; SUCCEEDED: bind the account; FAILED: say why
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from controller.api import limits
from controller.planner.actions import (
    Action,
    BindCreateRequest,
    Blocked,
    CloseAccount,
    CreateAccount,
    Difference,
    ForgetCreateRequest,
    MoveAccount,
    Plan,
    RecordCreationIntent,
    RemoveAccount,
    RenameAccount,
    creation_limit_reached,
)
from controller.planner.tags import is_aws_reserved, plan_tags
from controller.state import CreateAccountRequest, ObservedAccount, OrgSnapshot

CLOSED_STATES = frozenset({"SUSPENDED", "PENDING_CLOSURE", "CLOSED"})
# CreateAccount FailureReasons worth another attempt later (the rest need a person).
RETRYABLE_FAILURES = frozenset(
    {"CONCURRENT_ACCOUNT_MODIFICATION", "INTERNAL_FAILURE", "ACCOUNT_LIMIT_EXCEEDED", "FAILED_BUSINESS_VALIDATION",
     "PENDING_BUSINESS_VALIDATION", "UNKNOWN_BUSINESS_VALIDATION"}
)
# Failures that need a person first (a quota raised): tried again at the resync interval, not on the backoff, so
# each retry is not one more FAILED CreateAccount request every few seconds.
SLOW_FAILURES = frozenset({"ACCOUNT_LIMIT_EXCEEDED"})
# How far before the recorded intent a CreateAccount request may be and still be ours (clock skew).
INTENT_SKEW = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class DesiredAccount:
    object_name: str
    account_name: str
    email: str
    parent_id: str | None  # resolved by the engine, which waits for an OrgUnit that is not Ready yet; None: the root
    role_name: str = "OrganizationAccountAccessRole"
    iam_user_access_to_billing: str = "ALLOW"
    account_id: str | None = None
    tags: Mapping[str, str] | None = None
    observe_only: bool = False


@dataclass(frozen=True)
class AccountRecord:
    """What the object's status says about earlier work."""

    id: str | None = None
    request_id: str | None = None
    intent_at: datetime.datetime | None = None


@dataclass(frozen=True)
class CreationView:
    """Creation requests the reconciler read for this plan (only when the record needs them)."""

    request: CreateAccountRequest | None = None
    recent: Sequence[CreateAccountRequest] = ()
    in_flight: int = 0


def plan_account(
    desired: DesiredAccount,
    snapshot: OrgSnapshot,
    record: AccountRecord,
    creation: CreationView = CreationView(),
    actual_tags: Mapping[str, str] | None = None,
) -> Plan:
    """Plan one AwsAccount (the engine has resolved its references and refused a second claim of its email)."""
    parent_id = desired.parent_id or snapshot.root_id
    if not snapshot.exists(parent_id):
        return Plan(
            blocked=Blocked("ParentNotFound", f"spec.parentId: parent {parent_id} does not exist in the organization"),
            resource_id=record.id,
        )
    account, adopted, early = _bound_account(desired, snapshot, record, creation)
    if early is not None:
        return early
    assert account is not None
    plan = _plan_bound(desired, snapshot, account, parent_id, adopted, actual_tags)
    if record.id is None and record.request_id is not None and not adopted:
        return dataclasses.replace(plan, created=True)  # the account its own CreateAccount request made
    return plan


def _bound_account(
    desired: DesiredAccount, snapshot: OrgSnapshot, record: AccountRecord, creation: CreationView
) -> tuple[ObservedAccount | None, bool, Plan | None]:
    if record.id is not None:
        if record.id in snapshot.accounts:
            return snapshot.accounts[record.id], False, None
        # Recorded but no longer in the organization: removed or closed and gone. Never recreated.
        return None, False, Plan(
            blocked=Blocked(
                "NotFound",
                f"account {record.id} is no longer in the organization (removed or closed outside Git); it is "
                "not recreated. Delete this object, or set spec.accountId to adopt another account",
                retry=False,
            ),
            resource_id=record.id,
            differences=(Difference("exists", "true", "false"),),
        )
    if desired.account_id is not None:
        account = snapshot.accounts.get(desired.account_id)
        if account is None:
            return None, False, Plan(
                blocked=Blocked(
                    "NotFound",
                    f"spec.accountId: account {desired.account_id} is not a member of this organization",
                    retry=True,
                )
            )
        return account, True, None
    by_email = snapshot.account_with_email(desired.email)
    if by_email is not None:
        # Found after this object's own CreateAccount request (recorded in status) succeeded: it created it.
        ours = record.request_id is not None and (creation.request is None
                                                  or creation.request.account_id == by_email.id)
        return by_email, not ours, None

    # No account yet: the creation state machine.
    if desired.observe_only:
        return None, False, Plan(
            blocked=Blocked(
                "NotFound", f"managementPolicy Observe: no account with email {desired.email}; nothing is created"
            )
        )
    if record.request_id is not None:
        return None, False, _plan_request(record.request_id, creation.request)
    if record.intent_at is None:
        return None, False, Plan(actions=(RecordCreationIntent(desired.account_name, desired.email),))
    earliest = record.intent_at - INTENT_SKEW
    for req in creation.recent:
        if (
            req.account_name == desired.account_name
            and req.state in ("IN_PROGRESS", "SUCCEEDED")
            and (req.requested_at is None or req.requested_at >= earliest)
        ):
            return None, False, Plan(actions=(BindCreateRequest(req.id),))
    if creation.in_flight >= limits.MAX_CREATIONS_IN_FLIGHT:
        return None, False, Plan(blocked=creation_limit_reached(creation.in_flight))
    tags = {k: v for k, v in (desired.tags or {}).items() if not is_aws_reserved(k)}
    return None, False, Plan(
        actions=(
            CreateAccount(
                desired.account_name, desired.email, desired.role_name, desired.iam_user_access_to_billing, tags
            ),
        )
    )


def _plan_request(request_id: str, request: CreateAccountRequest | None) -> Plan:
    if request is None or request.state == "IN_PROGRESS":
        return Plan(
            blocked=Blocked("CreationInProgress", f"CreateAccount request {request_id} is in progress"),
        )
    if request.state == "SUCCEEDED":
        # The account exists but the snapshot predates it: look again at once.
        return Plan(
            blocked=Blocked(
                "CreationInProgress",
                f"CreateAccount request {request_id} succeeded (account {request.account_id}); reading it",
            ),
        )
    reason = request.failure_reason or "UNKNOWN"
    hint = {
        "EMAIL_ALREADY_EXISTS": "the email is already used by another AWS account (outside this organization, or "
        "closed in the last 90 days); use another email, or invite that account and set spec.accountId",
        "ACCOUNT_LIMIT_EXCEEDED": "the organization has reached its quota of accounts (AWS's \"Default maximum "
        f"number of accounts\", {limits.DEFAULT_MAX_ACCOUNTS} unless raised; closed accounts count until AWS "
        f"closes them for good); {limits.RAISE_ACCOUNT_QUOTA}",
        "INVALID_EMAIL": f"AWS does not accept spec.email ({'; '.join(limits.EMAIL_RULE_WORDS.values())})",
        "INVALID_ADDRESS": "the management account's address is invalid",
        "GOVCLOUD_ACCOUNT_ALREADY_EXISTS": "a GovCloud account already exists for this email",
    }.get(reason, "see the AWS Organizations documentation for this FailureReason")
    retry = reason in RETRYABLE_FAILURES
    slow = reason in SLOW_FAILURES
    message = f"CreateAccount request {request_id} FAILED: {reason}: {hint}"
    if retry:
        message += "; tried again at each resync" if slow else "; retrying"
    return Plan(
        actions=(ForgetCreateRequest(request_id),) if retry else (),
        blocked=Blocked("CreateAccountFailed", message, retry=retry, slow=slow),
    )


def _plan_bound(
    desired: DesiredAccount,
    snapshot: OrgSnapshot,
    account: ObservedAccount,
    parent_id: str,
    adopted: bool,
    actual_tags: Mapping[str, str] | None,
) -> Plan:
    if account.email.lower() != desired.email.lower():
        return Plan(
            blocked=Blocked(
                "ImmutableField",
                f"spec.email: account {account.id} has email {account.email}, the spec says {desired.email}; an "
                "account's email cannot be changed here",
                retry=False,
            ),
            resource_id=account.id,
            differences=(Difference("email", desired.email, account.email),),
        )
    if account.state in CLOSED_STATES:
        return Plan(
            blocked=Blocked(
                "AccountClosed",
                f"account {account.id} is {account.state}; a closed account is never recreated. Delete this "
                "object (deletionPolicy Retain forgets it)",
                retry=False,
            ),
            resource_id=account.id,
            adopted=adopted,
            differences=(Difference("state", "ACTIVE", account.state),),
        )
    actions: list[Action] = []
    diffs: list[Difference] = []
    if account.parent_id != parent_id:
        diffs.append(Difference("parentId", parent_id, account.parent_id))
        actions.append(MoveAccount(account.id, account.parent_id, parent_id))
    if account.name != desired.account_name:
        diffs.append(Difference("accountName", desired.account_name, account.name))
        actions.append(RenameAccount(account.id, desired.account_name, account.name))
    tag_actions, tag_diffs = plan_tags(account.id, desired.tags, actual_tags)
    actions += tag_actions
    diffs += tag_diffs
    if desired.observe_only:
        actions = []
    return Plan(actions=tuple(actions), differences=tuple(diffs), resource_id=account.id, adopted=adopted)


def plan_account_delete(
    record: AccountRecord,
    snapshot: OrgSnapshot,
    *,
    policy: str,
    observe_only: bool,
    request: CreateAccountRequest | None = None,
    email: str | None = None,
) -> Plan:
    """Plan what deleting the object does to the account, per ``deletionPolicy``.

    A creation still in flight is waited for first, so the account is never lost track of.
    """
    account_id = record.id
    if account_id is None and record.request_id is not None:
        if request is None or request.state == "IN_PROGRESS":
            return Plan(
                blocked=Blocked(
                    "CreationInProgress",
                    f"CreateAccount request {record.request_id} is in progress; deletion waits for it to finish",
                )
            )
        account_id = request.account_id
    if account_id is None and email:
        found = snapshot.account_with_email(email)
        account_id = found.id if found else None
    if policy == "Retain" or observe_only or account_id is None:
        return Plan(resource_id=account_id)
    if account_id == snapshot.management_account_id:
        return Plan(
            blocked=Blocked(
                "ManagementAccount",
                f"account {account_id} is the organization's management account: it is never closed or removed. "
                "Set spec.deletionPolicy: Retain to delete this object",
                retry=False,
            ),
            resource_id=account_id,
        )
    account = snapshot.accounts.get(account_id)
    if account is None:
        return Plan(resource_id=account_id)  # already gone from the organization
    if policy == "RemoveFromOrganization":
        return Plan(actions=(RemoveAccount(account_id),), resource_id=account_id)
    if account.state in CLOSED_STATES:
        return Plan(resource_id=account_id)  # already closing or closed: done
    return Plan(actions=(CloseAccount(account_id),), resource_id=account_id)
