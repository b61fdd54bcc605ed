"""Plan an AwsAccount: desired spec + observed organization + creation requests -> actions. Pure.

Account creation is the one operation that must never be duplicated and never lost, and AWS's
CreateAccount takes no idempotency token.  So creation is a small state machine recorded in the
object's status, and every step first looks for what an earlier (possibly crashed) attempt left:

1. no account, no intent   -> RecordCreationIntent (status only; nothing is called in AWS)
2. intent, no request id   -> an account with the email exists: adopt it;
                              a CreateAccount request for this name since the intent: bind it;
                              else (and fewer than 5 creations in flight) CreateAccount
3. request id recorded     -> IN_PROGRESS: wait; SUCCEEDED: bind the account; FAILED: say why

At a full account quota (FAILED with ACCOUNT_LIMIT_EXCEEDED) the next attempt waits (``status.creationBackoff``):
the resync interval (at least a minute) after the first refusal, doubled after each further one up to an hour, and
ended by a spec change, a change of the operator's ``accounts`` limit or fewer accounts in the organization. So a
full quota costs one FAILED CreateAccount request an hour per waiting object at most, not one per resync.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from controller.api import limits
from controller.api.models import CONFIRM_DELETION, AwsAccountStatus, CreationBackoff
from controller.planner.actions import (
    Action,
    BindCreateRequest,
    BindInvitation,
    Blocked,
    BlockReason,
    CancelInvitation,
    CloseAccount,
    CreateAccount,
    Difference,
    ForgetCreateRequest,
    ForgetInvitation,
    InviteAccount,
    MoveAccount,
    Plan,
    RecordCreationIntent,
    RecordInvitationIntent,
    RemoveAccount,
    RenameAccount,
    creation_limit_reached,
    invitation_limit_reached,
)
from controller.planner.tags import is_aws_reserved, plan_tags
from controller.state import CreateAccountRequest, ObservedAccount, ObservedInvitation, OrgSnapshot

CLOSED_STATES = frozenset({"SUSPENDED", "PENDING_CLOSURE", "CLOSED"})
# CreateAccount FailureReasons worth another attempt later (the rest need a person).
RETRYABLE_FAILURES = frozenset(
    {"CONCURRENT_ACCOUNT_MODIFICATION", "INTERNAL_FAILURE", "ACCOUNT_LIMIT_EXCEEDED", "FAILED_BUSINESS_VALIDATION",
     "PENDING_BUSINESS_VALIDATION", "UNKNOWN_BUSINESS_VALIDATION"}
)
# Failures that need a person first (a quota raised): tried again at the resync interval, not on the backoff, so
# each retry is not one more FAILED CreateAccount request every few seconds.
SLOW_FAILURES = frozenset({"ACCOUNT_LIMIT_EXCEEDED"})
#: The full account quota's wait before CreateAccount is tried again (status.creationBackoff): the resync interval
#: but at least this after the first refusal, doubled after each further one, up to QUOTA_BACKOFF_MAX (the
#: operator's choice, not an AWS figure: a quota increase takes a person, and AWS's history keeps every FAILED
#: request).
QUOTA_BACKOFF_MIN = 60
QUOTA_BACKOFF_MAX = 3600
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
    invite: bool = False  # spec.invite: account_id is an account outside the organization, to be invited
    invite_notes: str | None = None


@dataclass(frozen=True)
class AccountRecord:
    """What the object's status says about earlier work."""

    id: str | None = None
    request_id: str | None = None
    intent_at: datetime.datetime | None = None
    invitation_id: str | None = None
    invitation_started_at: datetime.datetime | None = None
    invitation_for: str | None = None
    #: status.creationBackoff: the wait at a full account quota
    backoff: CreationBackoff | None = None


@dataclass(frozen=True)
class CreationView:
    """Creation requests the reconciler read for this plan (only when the record needs them), and what the wait at
    a full account quota is measured by."""

    request: CreateAccountRequest | None = None
    recent: Sequence[CreateAccountRequest] = ()
    in_flight: int = 0
    #: the reconciler's clock (None: no wait is measured: CreateAccount goes ahead)
    now: datetime.datetime | None = None
    #: the object's metadata.generation
    generation: int = 0
    #: the resync interval: the first wait (at least QUOTA_BACKOFF_MIN)
    resync_seconds: float = 0.0
    #: the operator's accounts limit (None: limits.active())
    accounts_limit: int | None = None

    def limit(self) -> int:
        return self.accounts_limit if self.accounts_limit is not None else limits.active().accounts


def plan_account(
    desired: DesiredAccount,
    snapshot: OrgSnapshot,
    record: AccountRecord,
    creation: CreationView = CreationView(),
    actual_tags: Mapping[str, str] | None = None,
    invitation: InvitationView | None = None,
) -> Plan:
    """Plan one AwsAccount (the engine has resolved its references and refused a second claim of its email)."""
    parent_id = desired.parent_id or snapshot.root_id
    if not snapshot.exists(parent_id):
        return Plan(
            blocked=Blocked("ParentNotFound", f"spec.parentId: parent {parent_id} does not exist in the organization"),
            resource_id=record.id,
        )
    account, adopted, early = _bound_account(desired, snapshot, record, creation, invitation)
    if early is not None:
        return early
    assert account is not None
    plan = _plan_bound(desired, snapshot, account, parent_id, adopted, actual_tags)
    if record.id is None and record.request_id is not None and not adopted:
        return dataclasses.replace(plan, created=True)  # the account its own CreateAccount request made
    return plan


def _bound_account(
    desired: DesiredAccount, snapshot: OrgSnapshot, record: AccountRecord, creation: CreationView,
    invitation: InvitationView | None = None,
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
        if account is None and desired.invite and not desired.observe_only:
            return None, False, plan_invitation(desired, record, invitation or InvitationView())
        if account is None:
            return None, False, Plan(
                blocked=Blocked(
                    "NotFound",
                    f"spec.accountId: account {desired.account_id} is not a member of this organization (to "
                    "invite it, add spec.invite)",
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
        return None, False, _plan_request(record.request_id, creation.request, record, snapshot, creation)
    if record.intent_at is None:
        waiting = quota_wait(record.backoff, snapshot, creation)
        if waiting is not None:
            return None, False, Plan(blocked=waiting)
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


def _plan_request(request_id: str, request: CreateAccountRequest | None, record: AccountRecord = AccountRecord(),
                  snapshot: OrgSnapshot | None = None, creation: CreationView = CreationView()) -> Plan:
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
    if reason == "ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED":  # too many at once: a wait for a slot, not an error
        return Plan(actions=(ForgetCreateRequest(request_id),), blocked=creation_limit_reached(None))
    if reason == "ACCOUNT_LIMIT_EXCEEDED" and snapshot is not None and creation.now is not None:
        backoff = next_backoff(record.backoff, snapshot, creation)
        return Plan(actions=(ForgetCreateRequest(request_id),), status=AwsAccountStatus(creation_backoff=backoff),
                    blocked=account_quota_reached(backoff, f"CreateAccount request {request_id} FAILED: {reason}"))
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
    # A refusal binds nothing the object was not bound to already: an account found by spec.accountId or by email
    # and refused is not this object's, so its id is not written to status (deleting the object, whatever its
    # deletionPolicy, then has no account to act on). One bound before (or made by its own request) stays bound.
    refused_id = None if adopted else account.id
    if account.email.lower() != desired.email.lower():
        return Plan(
            blocked=Blocked(
                "ImmutableField",
                f"spec.email: account {account.id} has email {account.email}, the spec says {desired.email}; an "
                "account's email cannot be changed here"
                + ("; the account is not adopted" if adopted else ""),
                retry=False,
            ),
            resource_id=refused_id,
            differences=(Difference("email", desired.email, account.email),),
        )
    if account.state in CLOSED_STATES:
        reuse = ""
        if adopted and desired.account_id is None:  # found by its email: the spec means a new account
            reuse = (f"; spec.email {desired.email} is that closed account's: AWS keeps a closed account's email for "
                     f"{limits.CLOSED_ACCOUNT_DAYS} days after closure (and then for good), so no new account can "
                     "have it: choose another email")
        return Plan(
            blocked=Blocked(
                "AccountClosed",
                f"account {account.id} is {account.state}; a closed account is never recreated. Delete this "
                "object (deletionPolicy Retain forgets it)"
                + ("; the account is not adopted" if adopted else "") + reuse,
                retry=False,
            ),
            resource_id=refused_id,
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


DESTROYING = ("Close", "RemoveFromOrganization")
#: The states of an account AWS is closing or has closed, as counted against the closure quota.
CLOSING_STATES = frozenset({"PENDING_CLOSURE", "SUSPENDED"})


@dataclass(frozen=True)
class ClosureQuota:
    """AWS's closure quota as the operator can know it: ``quota`` closures per rolling 30 days
    (``limits.Limits.closures``, or AWS's figure for the organization's size), ``used`` the member accounts AWS is
    closing or holds SUSPENDED. AWS publishes no count of the closures of the last 30 days; a SUSPENDED account stays
    in the organization for 90 days, so ``used`` counts some closures older than 30 days too: the operator may wait
    when AWS would not, never the reverse."""

    quota: int
    used: int

    @property
    def remaining(self) -> int:
        return max(0, self.quota - self.used)


def closure_quota(snapshot: OrgSnapshot, configured: limits.Limits | None = None) -> ClosureQuota:
    members = [a for a in snapshot.accounts.values() if a.id != snapshot.management_account_id]
    quota = (configured or limits.active()).closure_quota(len(members))
    return ClosureQuota(quota, sum(1 for a in members if a.state in CLOSING_STATES))


def released_message(account: ObservedAccount) -> str:
    """The last event of a closed account's object: what AWS now holds and what that costs."""
    return (f"account {account.id} <{account.email}> is {account.state}: AWS closed it. It stays in the organization "
            f"as SUSPENDED for {limits.CLOSED_ACCOUNT_DAYS} days (AWS Support can reopen it until then; after that "
            f"it is gone for good), counts against the organization's account quota until then, and its email "
            f"cannot be used for another account; it counted against the closure quota of "
            f"{limits.CLOSE_QUOTA_DAYS} rolling days")


@dataclass(frozen=True)
class DeletionCheck:
    """What is looked at again, just before an account is closed or removed from the organization (issue 19:
    identity before destruction)."""

    #: DescribeAccount's answer, read for this deletion; None: AWS says the account is not in the organization.
    described: ObservedAccount | None
    #: The emails this object knows the account by (status.email, spec.email): each must be the account's.
    emails: tuple[str, ...] = ()
    #: The value of the object's ``CONFIRM_DELETION`` annotation (None: absent).
    confirmed: str | None = None
    #: The other AwsAccounts that declare this account (by its id, or by its email).
    declared_by: tuple[str, ...] = ()
    #: The closure quota, as the snapshot shows it (the adapter always reads it; None: not checked).
    closures: ClosureQuota | None = None


def plan_account_delete(
    record: AccountRecord,
    snapshot: OrgSnapshot,
    *,
    policy: str,
    observe_only: bool,
    request: CreateAccountRequest | None = None,
    email: str | None = None,
    check: DeletionCheck | None = None,
) -> Plan:
    """Plan what deleting the object does to the account, per ``deletionPolicy``: :func:`deletion_target`, then,
    for Close and RemoveFromOrganization, :func:`plan_destruction` on what ``check`` read again (None: not read,
    so nothing is destroyed)."""
    target = deletion_target(record, snapshot, policy=policy, observe_only=observe_only, request=request,
                             email=email)
    if isinstance(target, Plan):
        return target
    return plan_destruction(target, policy, check or DeletionCheck(None, confirmed=None), unread=check is None)


def deletion_target(
    record: AccountRecord,
    snapshot: OrgSnapshot,
    *,
    policy: str,
    observe_only: bool,
    request: CreateAccountRequest | None = None,
    email: str | None = None,
) -> str | Plan:
    """The account that deleting the object would close or remove (its id: to be read again and checked, then
    :func:`plan_destruction`), or the whole plan when nothing is destroyed (Retain, Observe, no account, the
    management account, already gone, or a creation still in flight: waited for first, so the account is never
    lost track of)."""
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
    if account_id is None and record.invitation_id is not None:
        # Invited, not (yet) a member: withdraw the invitation, whatever the deletionPolicy (it is the object's own
        # pending work, like a creation; an account that has answered makes CancelHandshake a no-op).
        return Plan(actions=(CancelInvitation(record.invitation_id),))
    if account_id is None and email:
        found = snapshot.account_with_email(email)
        account_id = found.id if found else None
    if policy not in DESTROYING or observe_only or account_id is None:
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
    return account_id


def plan_destruction(account_id: str, policy: str, check: DeletionCheck, *, unread: bool = False,
                     name: str = "<name>") -> Plan:
    """Close or remove ``account_id`` only when what was read again just now says it is this object's account and
    a person confirmed it by id; otherwise refuse (nothing written, the object kept with its finalizer) naming
    what disagrees and how to resolve it."""
    verb = "closed" if policy == "Close" else "removed from the organization"
    keep = ("Set spec.deletionPolicy: Retain to delete this object and leave the account as it is (close or "
            "remove it by hand if that is what was meant)")

    def refuse(reason: BlockReason, message: str) -> Plan:
        return Plan(blocked=Blocked(reason, f"{message}. Nothing is {verb}. {keep}", retry=False),
                    resource_id=account_id)

    if unread:
        return refuse("IdentityMismatch", f"account {account_id} was not read again before it would be {verb}")
    found = check.described
    if found is None:
        return Plan(resource_id=account_id)  # no longer in the organization (closed for good, or removed): done
    if found.id != account_id:
        return refuse("IdentityMismatch", f"AWS answered account {found.id} when asked for {account_id}")
    if policy == "Close" and found.state == "PENDING_CLOSURE":
        return Plan(blocked=Blocked("Closing", f"account {account_id} <{found.email}> is PENDING_CLOSURE: AWS is "
                                    "closing it; this object is released once AWS shows it SUSPENDED"),
                    resource_id=account_id, status=AwsAccountStatus(state=found.state))
    if policy == "Close" and found.state in CLOSED_STATES:  # closed: nothing left to destroy; the object goes
        return Plan(resource_id=account_id, status=AwsAccountStatus(state=found.state),
                    released=released_message(found))
    other = sorted({e for e in check.emails if e and e.lower() != found.email.lower()})
    if other:
        return refuse("IdentityMismatch", f"account {account_id} has the email {found.email} in AWS now, but this "
                      f"object knows it as {', '.join(other)}: it may not be the account this object meant")
    if check.declared_by:
        names = ", ".join(f"AwsAccount {n!r}" for n in sorted(check.declared_by))
        return refuse("DuplicateAccount", f"account {account_id} <{found.email}> is also declared by {names}; it is "
                      "never closed or removed while another object declares it (delete that object, or point it "
                      "at another account, first)")
    if check.confirmed != account_id:
        found_word = "no such annotation" if check.confirmed is None else f"it says {check.confirmed!r}"
        return Plan(blocked=Blocked(
            "DeletionNotConfirmed",
            f"deletionPolicy {policy}: account {account_id} <{found.email}> is {verb} only when this object "
            f"carries the annotation {CONFIRM_DELETION}: \"{account_id}\" ({found_word}). Add it to go ahead "
            f"(kubectl annotate awsaccount {name} {CONFIRM_DELETION}={account_id}), or set "
            "spec.deletionPolicy: Retain to delete this object and keep the account",
            retry=False), resource_id=account_id)
    if policy == "RemoveFromOrganization":
        return Plan(actions=(RemoveAccount(account_id),), resource_id=account_id)
    quota = check.closures
    if quota is not None and quota.remaining <= 0:
        return Plan(blocked=close_quota_reached(account_id, quota), resource_id=account_id)
    return Plan(actions=(CloseAccount(account_id),), resource_id=account_id)


def close_quota_reached(account_id: str, quota: ClosureQuota) -> Blocked:
    configured = limits.active().closures
    source = (f"the configured limit {limits.setting('closures', configured)}" if configured else
              f"AWS's quota for this organization (CloseAccount: the higher of {limits.CLOSE_QUOTA_FLOOR} or "
              f"{int(limits.CLOSE_QUOTA_SHARE * 100)}% of the member accounts, up to {limits.CLOSE_QUOTA_CEILING:,})")
    return Blocked("CloseQuotaReached", f"account {account_id} is not closed yet: {quota.remaining} of {quota.quota} "
                   f"closures remain in the rolling {limits.CLOSE_QUOTA_DAYS} days ({quota.used} member accounts are "
                   f"PENDING_CLOSURE or SUSPENDED; {source}). It is closed when the quota allows (a SUSPENDED account "
                   f"leaves the organization after {limits.CLOSED_ACCOUNT_DAYS} days); looked at again at each resync",
                   slow=True)


# ------------------------------------------------------------------------------------------ invitation

#: Handshake states (HandshakeState, botocore 1.44.8): REQUESTED "awaiting a response from the recipient", OPEN; the
#: rest are ends.
INVITATION_OPEN = frozenset({"REQUESTED", "OPEN"})
INVITATION_ENDED = frozenset({"DECLINED", "CANCELED", "EXPIRED"})


@dataclass(frozen=True)
class InvitationView:
    """What the reconciler read for an invitation: the organization's INVITE handshakes to this account (open, and
    ended in the last 30 days: AWS lists no older), and how many were sent in the last 24 hours."""

    found: Sequence[ObservedInvitation] = ()
    sent_today: int = 0


def invite_key(account_id: str, notes: str | None) -> str:
    """What an invitation was sent for (status.invitationFor): a new one only when this changes."""
    return hashlib.sha256(f"{account_id}\n{notes or ''}".encode()).hexdigest()[:16]


def when_text(at: datetime.datetime | None) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at else "unknown"


def invited(hs: ObservedInvitation) -> Blocked:
    """The wait while an invitation is open (the planner's and the write's words)."""
    return Blocked("Invited", f"account {hs.target} is invited (handshake {hs.id}, {hs.state}, expires "
                   f"{when_text(hs.expires_at)}): its owner accepts it from the account (AWS Organizations console of "
                   "that account, or aws organizations accept-handshake); the account is bound and placed in its OU "
                   "then. Looked at again at each resync", slow=True)


def _invitation_status(hs: ObservedInvitation) -> AwsAccountStatus:
    return AwsAccountStatus(invitation_handshake_id=hs.id, invitation_state=hs.state,
                            invitation_expires_at=when_text(hs.expires_at) if hs.expires_at else None)


def plan_invitation(desired: DesiredAccount, record: AccountRecord, view: InvitationView) -> Plan:
    """An account outside the organization, invited (``spec.invite`` with ``spec.accountId``): a small state machine in
    the object's status, like creation's, so that a crash never leaves two open invitations:

    1. no intent                        -> RecordInvitationIntent (status only)
    2. intent, no handshake id          -> an open invitation to the account (a crash after the call): bind it;
                                           else (fewer than 20 sent today) InviteAccountToOrganization
    3. handshake id recorded            -> open: wait (Invited, with its expiry); ended (declined, canceled, expired,
                                           or no longer listed): InvitationEnded, a new one only when spec.invite
                                           changes
    Accepted: the account is a member; the planner binds it like any account (placed in its OU, tagged).
    """
    account_id = desired.account_id or ""
    key = invite_key(account_id, desired.invite_notes)
    if record.invitation_for is not None and record.invitation_for != key:
        return Plan(actions=(ForgetInvitation(record.invitation_id),))
    if record.invitation_id is not None:
        hs = next((h for h in view.found if h.id == record.invitation_id), None)
        if hs is not None and hs.state in INVITATION_OPEN:
            return Plan(blocked=invited(hs), status=_invitation_status(hs))
        if hs is not None and hs.state == "ACCEPTED":
            return Plan(blocked=Blocked("Invited", f"account {account_id} accepted the invitation (handshake "
                                        f"{hs.id}); reading it"), status=_invitation_status(hs))
        state = hs.state if hs is not None else "no longer listed by AWS (ended over 30 days ago)"
        return Plan(
            blocked=Blocked("InvitationEnded", f"the invitation of account {account_id} (handshake "
                            f"{record.invitation_id}) is {state}; no new invitation is sent until spec.invite "
                            "changes (e.g. its notes): change it to invite the account again, or delete this object",
                            retry=False),
            status=_invitation_status(hs) if hs is not None else AwsAccountStatus(invitation_state="ENDED"))
    if record.invitation_started_at is None:
        return Plan(actions=(RecordInvitationIntent(account_id, key),))
    open_one = next((h for h in view.found if h.state in INVITATION_OPEN), None)
    if open_one is not None:
        return Plan(actions=(BindInvitation(open_one.id, open_one.state, when_text(open_one.expires_at)),))
    if view.sent_today >= limits.INVITATIONS_PER_DAY:
        return Plan(blocked=invitation_limit_reached(view.sent_today))
    tags = {k: v for k, v in (desired.tags or {}).items() if not is_aws_reserved(k)}
    return Plan(actions=(InviteAccount(account_id, desired.invite_notes, tags),))


# ------------------------------------------------------------------------------------------ full account quota


def _ended(backoff: CreationBackoff, snapshot: OrgSnapshot, creation: CreationView) -> str | None:
    """Why the wait at a full quota is over before its time (None: it is not)."""
    if creation.generation != backoff.generation:
        return "the spec changed"
    if creation.limit() != backoff.accounts_limit:
        return "the operator's accounts limit changed"
    if len(snapshot.accounts) < backoff.accounts:
        return "the organization has fewer accounts"
    return None


def next_backoff(previous: CreationBackoff | None, snapshot: OrgSnapshot, creation: CreationView) -> CreationBackoff:
    """The wait after a refusal at a full quota: the first (the resync interval, at least QUOTA_BACKOFF_MIN) when
    there was none or it was ended early, else the previous one doubled, up to QUOTA_BACKOFF_MAX."""
    first = max(QUOTA_BACKOFF_MIN, int(creation.resync_seconds))
    if previous is None or _ended(previous, snapshot, creation) is not None:
        delay = first
    else:
        delay = max(first, min(QUOTA_BACKOFF_MAX, previous.delay_seconds * 2))
    assert creation.now is not None
    return CreationBackoff(next_attempt_at=when_text(creation.now + datetime.timedelta(seconds=delay)),
                           delay_seconds=delay, generation=creation.generation, accounts_limit=creation.limit(),
                           accounts=len(snapshot.accounts))


def quota_wait(backoff: CreationBackoff | None, snapshot: OrgSnapshot, creation: CreationView) -> Blocked | None:
    """The wait before CreateAccount is tried again at a full quota; None: try now (no wait, its time has come,
    or it was ended early)."""
    if backoff is None or creation.now is None or _ended(backoff, snapshot, creation) is not None:
        return None
    try:
        due = datetime.datetime.fromisoformat(backoff.next_attempt_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if creation.now >= (due if due.tzinfo else due.replace(tzinfo=datetime.UTC)):
        return None
    return account_quota_reached(backoff, "CreateAccount waits: AWS answered ACCOUNT_LIMIT_EXCEEDED")


def account_quota_reached(backoff: CreationBackoff, what: str) -> Blocked:
    """The condition's words while CreateAccount waits at a full quota: the quota, the next try, how to raise it."""
    return Blocked(
        "AccountQuotaReached",
        f"{what}: the organization is at its quota of accounts ({backoff.accounts} accounts, closed ones included "
        f"until AWS closes them for good; the operator's accounts limit is {backoff.accounts_limit}, AWS's \"Default "
        f"maximum number of accounts\" is {limits.DEFAULT_MAX_ACCOUNTS} unless raised). CreateAccount is tried again "
        f"at {backoff.next_attempt_at} (waiting {backoff.delay_seconds} s, doubled after each refusal up to "
        f"{QUOTA_BACKOFF_MAX} s), at once when the spec or the accounts limit changes or the organization has fewer "
        f"accounts. To raise the quota: {limits.RAISE_ACCOUNT_QUOTA}; then set the operator's limit to the quota "
        f"granted, e.g. {limits.setting('accounts', max(backoff.accounts_limit, backoff.accounts) + 10)}",
        slow=True,
    )
