"""Table-driven tests of the pure AwsAccount planner; each case says why the expected plan is right."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import pytest

from controller.api.models import CONFIRM_DELETION, CreationBackoff
from controller.planner.account import (
    AccountRecord,
    ClosureQuota,
    CreationView,
    DeletionCheck,
    DesiredAccount,
    closure_quota,
    plan_account,
    plan_account_delete,
    when_text,
)
from controller.planner.actions import (
    BindCreateRequest,
    CloseAccount,
    CreateAccount,
    ForgetCreateRequest,
    MoveAccount,
    RecordCreationIntent,
    RemoveAccount,
    RenameAccount,
    TagResource,
)
from controller.state import CreateAccountRequest, ObservedAccount, ObservedOU, OrgSnapshot

ROOT = "r-ab12"
MGMT = "111111111111"
NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.UTC)
PROD = ObservedOU("ou-ab12-11111111", "arn:ou/prod", "Production", ROOT)
DEV_OU = ObservedOU("ou-ab12-22222222", "arn:ou/dev", "Development", ROOT)


def acct(ident: str, email: str, parent: str = PROD.id, name: str = "Prod", state: str = "ACTIVE") -> ObservedAccount:
    return ObservedAccount(ident, f"arn:acct/{ident}", name, email, state, parent)


MANAGEMENT = acct(MGMT, "root@example.com", parent=ROOT, name="Management")
PROD_ACCT = acct("222222222222", "prod@example.com")


def snap(*accounts: ObservedAccount) -> OrgSnapshot:
    return OrgSnapshot("o-x", MGMT, ROOT, "arn:root", ous={PROD.id: PROD, DEV_OU.id: DEV_OU},
                       accounts={a.id: a for a in (MANAGEMENT, *accounts)})


def want(**kw: object) -> DesiredAccount:
    base: dict[str, object] = dict(object_name="prod", account_name="Prod", email="prod@example.com",
                                   parent_id=PROD.id)
    base.update(kw)
    return DesiredAccount(**base)  # type: ignore[arg-type]


def req(state: str, ident: str = "car-1", name: str = "Prod", account_id: str | None = None,
        failure: str | None = None, at: datetime.datetime = NOW) -> CreateAccountRequest:
    return CreateAccountRequest(ident, state, name, account_id, failure, at)


@dataclass
class Case:
    reason: str
    desired: DesiredAccount
    snapshot: OrgSnapshot
    record: AccountRecord = field(default_factory=AccountRecord)
    creation: CreationView = field(default_factory=CreationView)
    tags: dict[str, str] | None = None
    actions: list[object] = field(default_factory=list)
    blocked: str | None = None
    resource_id: str | None = None
    adopted: bool = False
    created: bool = False  # bound to what its own CreateAccount request made: its events say created, not adopted


INTENT = AccountRecord(intent_at=NOW)
CASES = [
    Case("nothing yet: record the intent first, call nothing in AWS",
         want(), snap(), actions=[RecordCreationIntent("Prod", "prod@example.com")]),
    Case("intent recorded and no request exists: now (and only now) call CreateAccount",
         want(tags={"team": "a"}), snap(), record=INTENT,
         actions=[CreateAccount("Prod", "prod@example.com", "OrganizationAccountAccessRole", "ALLOW", {"team": "a"})]),
    Case("crash after CreateAccount, before the status write: the request is found and followed, not repeated",
         want(), snap(), record=INTENT, creation=CreationView(recent=[req("IN_PROGRESS", "car-9")], in_flight=1),
         actions=[BindCreateRequest("car-9")]),
    Case("a request for another account name is not ours",
         want(), snap(), record=INTENT, creation=CreationView(recent=[req("IN_PROGRESS", name="Other")], in_flight=1),
         actions=[CreateAccount("Prod", "prod@example.com", "OrganizationAccountAccessRole", "ALLOW", {})]),
    Case("a request older than the intent (beyond clock skew) is not ours",
         want(), snap(), record=INTENT,
         creation=CreationView(recent=[req("SUCCEEDED", at=NOW - datetime.timedelta(hours=2))]),
         actions=[CreateAccount("Prod", "prod@example.com", "OrganizationAccountAccessRole", "ALLOW", {})]),
    Case("five creations in flight: wait for a slot, call nothing",
         want(), snap(), record=INTENT, creation=CreationView(in_flight=5), blocked="CreationLimitReached"),
    Case("request recorded and IN_PROGRESS: wait",
         want(), snap(), record=AccountRecord(request_id="car-1", intent_at=NOW),
         creation=CreationView(request=req("IN_PROGRESS")), blocked="CreationInProgress"),
    Case("request FAILED with EMAIL_ALREADY_EXISTS: say why, do not retry",
         want(), snap(), record=AccountRecord(request_id="car-1", intent_at=NOW),
         creation=CreationView(request=req("FAILED", failure="EMAIL_ALREADY_EXISTS")), blocked="CreateAccountFailed"),
    Case("request FAILED for a transient reason: forget it so a later attempt starts over",
         want(), snap(), record=AccountRecord(request_id="car-1", intent_at=NOW),
         creation=CreationView(request=req("FAILED", failure="CONCURRENT_ACCOUNT_MODIFICATION")),
         actions=[ForgetCreateRequest("car-1")], blocked="CreateAccountFailed"),
    Case("request FAILED because too many creations ran at once: a wait for a slot, forgotten to start over",
         want(), snap(), record=AccountRecord(request_id="car-1", intent_at=NOW),
         creation=CreationView(request=req("FAILED", failure="ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED")),
         actions=[ForgetCreateRequest("car-1")], blocked="CreationLimitReached"),
    Case("an account with this email exists: adopt it, never create a second one",
         want(), snap(PROD_ACCT), resource_id=PROD_ACCT.id, adopted=True),
    Case("email match is case-insensitive, as AWS's is",
         want(email="PROD@example.com"), snap(PROD_ACCT), resource_id=PROD_ACCT.id, adopted=True),
    Case("an intent recorded but the account already exists (crash after SUCCEEDED): adopt by email",
         want(), snap(PROD_ACCT), record=INTENT, resource_id=PROD_ACCT.id, adopted=True),
    Case("its own request SUCCEEDED and the account is read: bound as created, not adopted",
         want(), snap(PROD_ACCT), record=AccountRecord(request_id="car-1", intent_at=NOW),
         creation=CreationView(request=req("SUCCEEDED", account_id=PROD_ACCT.id)), resource_id=PROD_ACCT.id,
         created=True),
    Case("its own request recorded, the account already in the snapshot (not described): created",
         want(), snap(PROD_ACCT), record=AccountRecord(request_id="car-1", intent_at=NOW), resource_id=PROD_ACCT.id,
         created=True),
    Case("its request made another account than the one with this email: that one is adopted",
         want(), snap(PROD_ACCT), record=AccountRecord(request_id="car-1", intent_at=NOW),
         creation=CreationView(request=req("SUCCEEDED", account_id="999999999999")), resource_id=PROD_ACCT.id,
         adopted=True),
    Case("spec.accountId adopts that account",
         want(account_id=PROD_ACCT.id), snap(PROD_ACCT), resource_id=PROD_ACCT.id, adopted=True),
    Case("spec.accountId not in the organization: refuse, never create",
         want(account_id="999999999999"), snap(), blocked="NotFound"),
    Case("spec.accountId whose email differs from spec.email: refused, and not bound (no status.id), so deleting "
         "the object can never close or remove that account (issue 19)",
         want(account_id=PROD_ACCT.id, email="other@example.com"), snap(PROD_ACCT), blocked="ImmutableField"),
    Case("spec.accountId naming a closed account: refused, not bound",
         want(account_id=PROD_ACCT.id), snap(acct(PROD_ACCT.id, "prod@example.com", state="SUSPENDED")),
         blocked="AccountClosed"),
    Case("an account with this email exists but is closed: refused, not adopted (no status.id)",
         want(), snap(acct(PROD_ACCT.id, "prod@example.com", state="SUSPENDED")), blocked="AccountClosed"),
    Case("a bound account whose email changed outside Git: refused, and it stays bound (never lost track of)",
         want(), snap(acct(PROD_ACCT.id, "new@example.com")), record=AccountRecord(id=PROD_ACCT.id),
         blocked="ImmutableField", resource_id=PROD_ACCT.id),
    Case("orgUnitRef changed: move the account",
         want(parent_id=DEV_OU.id), snap(PROD_ACCT), record=AccountRecord(id=PROD_ACCT.id),
         actions=[MoveAccount(PROD_ACCT.id, PROD.id, DEV_OU.id)], resource_id=PROD_ACCT.id),
    Case("accountName changed: rename through the Account Management API",
         want(account_name="Production"), snap(PROD_ACCT), record=AccountRecord(id=PROD_ACCT.id),
         actions=[RenameAccount(PROD_ACCT.id, "Production", "Prod")], resource_id=PROD_ACCT.id),
    Case("tags are the exact set",
         want(tags={"a": "1"}), snap(PROD_ACCT), record=AccountRecord(id=PROD_ACCT.id), tags={},
         actions=[TagResource(PROD_ACCT.id, {"a": "1"})], resource_id=PROD_ACCT.id),
    Case("a recorded account closed outside Git: report it, never recreate",
         want(), snap(acct(PROD_ACCT.id, "prod@example.com", state="SUSPENDED")),
         record=AccountRecord(id=PROD_ACCT.id), blocked="AccountClosed", resource_id=PROD_ACCT.id),
    Case("a recorded account gone from the organization: report it, never recreate",
         want(), snap(), record=AccountRecord(id=PROD_ACCT.id), blocked="NotFound", resource_id=PROD_ACCT.id),
    Case("Observe: a missing account is never created",
         want(observe_only=True), snap(), blocked="NotFound"),
    Case("Observe: a misplaced account is reported, not moved",
         want(parent_id=DEV_OU.id, observe_only=True), snap(PROD_ACCT), resource_id=PROD_ACCT.id, adopted=True),
]


@pytest.mark.parametrize("case", CASES, ids=[c.reason for c in CASES])
def test_plan_account(case: Case) -> None:
    plan = plan_account(case.desired, case.snapshot, case.record, case.creation, case.tags)
    assert list(plan.actions) == case.actions
    assert (plan.blocked.reason if plan.blocked else None) == case.blocked
    assert plan.resource_id == case.resource_id
    assert plan.adopted == case.adopted
    assert plan.created == case.created


def confirmed(account: ObservedAccount, **kw: object) -> DeletionCheck:
    """What the adapter read again: the account as DescribeAccount answers it, confirmed by its id."""
    base: dict[str, object] = dict(emails=(account.email,), confirmed=account.id)
    base.update(kw)
    return DeletionCheck(account, **base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reason", "record", "policy", "snapshot", "creq", "check", "actions", "blocked"),
    [
        ("Retain (the default) forgets the account and leaves it in AWS",
         AccountRecord(id=PROD_ACCT.id), "Retain", snap(PROD_ACCT), None, None, [], None),
        ("Close, the account read again as bound and confirmed by its id: CloseAccount",
         AccountRecord(id=PROD_ACCT.id), "Close", snap(PROD_ACCT), None, confirmed(PROD_ACCT),
         [CloseAccount(PROD_ACCT.id)], None),
        ("Close of an account PENDING_CLOSURE waits for AWS (Closing): nothing to call, the object is kept until "
         "AWS shows the closure done", AccountRecord(id=PROD_ACCT.id), "Close", snap(PROD_ACCT), None,
         confirmed(acct(PROD_ACCT.id, "prod@example.com", state="PENDING_CLOSURE"), confirmed=None), [], "Closing"),
        ("the closure quota leaves one: CloseAccount", AccountRecord(id=PROD_ACCT.id), "Close", snap(PROD_ACCT),
         None, confirmed(PROD_ACCT, closures=ClosureQuota(3, 2)), [CloseAccount(PROD_ACCT.id)], None),
        ("the closure quota is used up: nothing is called, the deletion waits with the quota in its reason",
         AccountRecord(id=PROD_ACCT.id), "Close", snap(PROD_ACCT), None,
         confirmed(PROD_ACCT, closures=ClosureQuota(3, 3)), [], "CloseQuotaReached"),
        ("the closure quota does not limit a removal (not a closure)", AccountRecord(id=PROD_ACCT.id),
         "RemoveFromOrganization", snap(PROD_ACCT), None, confirmed(PROD_ACCT, closures=ClosureQuota(3, 3)),
         [RemoveAccount(PROD_ACCT.id)], None),
        ("RemoveFromOrganization, read again and confirmed: removes it", AccountRecord(id=PROD_ACCT.id),
         "RemoveFromOrganization", snap(PROD_ACCT), None, confirmed(PROD_ACCT), [RemoveAccount(PROD_ACCT.id)], None),
        ("the management account is never closed", AccountRecord(id=MGMT), "Close", snap(), None, None, [],
         "ManagementAccount"),
        ("the management account is never removed", AccountRecord(id=MGMT), "RemoveFromOrganization", snap(), None,
         None, [], "ManagementAccount"),
        ("a creation in flight is waited for, so the account is never lost track of",
         AccountRecord(request_id="car-1", intent_at=NOW), "Close", snap(), req("IN_PROGRESS"), None, [],
         "CreationInProgress"),
        ("a creation that succeeded meanwhile is closed per the policy (confirmed)",
         AccountRecord(request_id="car-1", intent_at=NOW), "Close", snap(PROD_ACCT),
         req("SUCCEEDED", account_id=PROD_ACCT.id), confirmed(PROD_ACCT), [CloseAccount(PROD_ACCT.id)], None),
        ("an object that never bound an account (a refused one) has nothing to close, whatever it names",
         AccountRecord(), "Close", snap(PROD_ACCT), None, None, [], None),
        ("no confirmation annotation: nothing closed, the object says which annotation and id to add",
         AccountRecord(id=PROD_ACCT.id), "Close", snap(PROD_ACCT), None, confirmed(PROD_ACCT, confirmed=None), [],
         "DeletionNotConfirmed"),
        ("a confirmation naming another account is none: nothing removed",
         AccountRecord(id=PROD_ACCT.id), "RemoveFromOrganization", snap(PROD_ACCT), None,
         confirmed(PROD_ACCT, confirmed="999999999999"), [], "DeletionNotConfirmed"),
        ("the account's email in AWS is not the one this object knows: it may be another account; refused",
         AccountRecord(id=PROD_ACCT.id), "Close", snap(PROD_ACCT), None,
         confirmed(PROD_ACCT, emails=("someone@example.com",)), [], "IdentityMismatch"),
        ("status.email agrees but spec.email does not (an object bound before the rule): refused",
         AccountRecord(id=PROD_ACCT.id), "Close", snap(PROD_ACCT), None,
         confirmed(PROD_ACCT, emails=("prod@example.com", "attacker@example.com")), [], "IdentityMismatch"),
        ("AWS answers another id than asked: refused",
         AccountRecord(id=PROD_ACCT.id), "Close", snap(PROD_ACCT), None,
         DeletionCheck(acct("333333333333", "prod@example.com"), ("prod@example.com",), PROD_ACCT.id), [],
         "IdentityMismatch"),
        ("another object declares the account (by id or email): never closed while it does",
         AccountRecord(id=PROD_ACCT.id), "Close", snap(PROD_ACCT), None,
         confirmed(PROD_ACCT, declared_by=("production",)), [], "DuplicateAccount"),
        ("the account was not read again (no check given): nothing destroyed",
         AccountRecord(id=PROD_ACCT.id), "Close", snap(PROD_ACCT), None, None, [], "IdentityMismatch"),
        ("DescribeAccount says it is no longer in the organization: done, nothing to close",
         AccountRecord(id=PROD_ACCT.id), "Close", snap(PROD_ACCT), None, DeletionCheck(None), [], None),
        ("the snapshot is stale but the fresh read is what counts: closed in AWS meanwhile, done",
         AccountRecord(id=PROD_ACCT.id), "Close", snap(PROD_ACCT), None,
         confirmed(acct(PROD_ACCT.id, "prod@example.com", state="SUSPENDED")), [], None),
    ],
)
def test_plan_account_delete(
    reason: str, record: AccountRecord, policy: str, snapshot: OrgSnapshot, creq: CreateAccountRequest | None,
    check: DeletionCheck | None, actions: list[object], blocked: str | None,
) -> None:
    plan = plan_account_delete(record, snapshot, policy=policy, observe_only=False, request=creq, check=check)
    assert list(plan.actions) == actions, reason
    assert (plan.blocked.reason if plan.blocked else None) == blocked, reason


def test_the_unconfirmed_refusal_names_the_annotation_the_id_and_the_way_out() -> None:
    plan = plan_account_delete(AccountRecord(id=PROD_ACCT.id), snap(PROD_ACCT), policy="Close", observe_only=False,
                               check=confirmed(PROD_ACCT, confirmed=None))
    assert plan.blocked is not None and plan.resource_id == PROD_ACCT.id
    message = plan.blocked.message
    assert f'{CONFIRM_DELETION}: "{PROD_ACCT.id}"' in message and "prod@example.com" in message
    assert "no such annotation" in message and "spec.deletionPolicy: Retain" in message


def test_a_closed_account_is_released_with_the_90_days_and_the_quota() -> None:
    """SUSPENDED: the object goes; its last event says what AWS holds now and what it costs."""
    suspended = acct(PROD_ACCT.id, "prod@example.com", state="SUSPENDED")
    plan = plan_account_delete(AccountRecord(id=PROD_ACCT.id), snap(suspended), policy="Close", observe_only=False,
                               check=confirmed(suspended))
    assert plan.blocked is None and not plan.actions and plan.released is not None
    assert plan.status is not None and plan.status.state == "SUSPENDED"
    for words in ("SUSPENDED for 90 days", "AWS Support can reopen it", "account quota", "closure quota",
                  "its email cannot be used"):
        assert words in plan.released, words


def test_the_closure_quota_counts_closing_and_suspended_members_against_aws_figure() -> None:
    """AWS's figure: the higher of 250 or 20% of the members, up to 1,000; the configured limit replaces it."""
    from controller.api import limits

    closing = [acct(f"3{i:011d}", f"c{i}@example.com", state=s) for i, s in
               enumerate(("PENDING_CLOSURE", "SUSPENDED", "ACTIVE"))]
    quota = closure_quota(snap(*closing), limits.Limits())
    assert (quota.quota, quota.used, quota.remaining) == (250, 2, 248)
    assert limits.aws_closure_quota(2000) == 400 and limits.aws_closure_quota(10_000) == 1000
    assert closure_quota(snap(*closing), limits.Limits(closures=2)).remaining == 0
    plan = plan_account_delete(AccountRecord(id=PROD_ACCT.id), snap(PROD_ACCT), policy="Close", observe_only=False,
                               check=confirmed(PROD_ACCT, closures=ClosureQuota(3, 3)))
    assert plan.blocked is not None and "0 of 3 closures remain" in plan.blocked.message


# ------------------------------------------------------------------------------------------ full account quota

def backoff(delay: int = 60, *, due: datetime.datetime = NOW + datetime.timedelta(seconds=60), generation: int = 1,
            limit: int = 10, accounts: int = 1) -> CreationBackoff:
    return CreationBackoff(next_attempt_at=when_text(due), delay_seconds=delay, generation=generation,
                           accounts_limit=limit, accounts=accounts)


def clock(**kw: object) -> CreationView:
    """What the adapter measures the wait by: now, generation 1, a 10 s resync, the accounts limit 10."""
    base: dict[str, object] = dict(now=NOW, generation=1, resync_seconds=10.0, accounts_limit=10)
    base.update(kw)
    return CreationView(**base)  # type: ignore[arg-type]


FULL = req("FAILED", failure="ACCOUNT_LIMIT_EXCEEDED")
REFUSED = AccountRecord(request_id="car-1", intent_at=NOW)
WAITING = AccountRecord(backoff=backoff())
INTENT_AGAIN = [RecordCreationIntent("Prod", "prod@example.com")]


@pytest.mark.parametrize(
    ("reason", "snapshot", "record", "creation", "actions", "blocked", "delay"),
    [
        ("first refusal at a full quota: the request forgotten, a wait of a minute (the 10 s resync is shorter)",
         snap(), REFUSED, clock(request=FULL), [ForgetCreateRequest("car-1")], "AccountQuotaReached", 60),
        ("first refusal with a 300 s resync: the wait starts at the resync interval",
         snap(), REFUSED, clock(request=FULL, resync_seconds=300.0), [ForgetCreateRequest("car-1")],
         "AccountQuotaReached", 300),
        ("refused again after the wait, nothing changed: the wait doubles",
         snap(), AccountRecord(request_id="car-1", intent_at=NOW, backoff=backoff(60)), clock(request=FULL),
         [ForgetCreateRequest("car-1")], "AccountQuotaReached", 120),
        ("the doubling stops at an hour",
         snap(), AccountRecord(request_id="car-1", intent_at=NOW, backoff=backoff(2400)), clock(request=FULL),
         [ForgetCreateRequest("car-1")], "AccountQuotaReached", 3600),
        ("refused after a spec change ended the wait: it starts over at a minute, not doubled",
         snap(), AccountRecord(request_id="car-1", intent_at=NOW, backoff=backoff(2400, generation=0)),
         clock(request=FULL), [ForgetCreateRequest("car-1")], "AccountQuotaReached", 60),
        ("refused after the accounts limit changed: starts over",
         snap(), AccountRecord(request_id="car-1", intent_at=NOW, backoff=backoff(2400, limit=5)),
         clock(request=FULL), [ForgetCreateRequest("car-1")], "AccountQuotaReached", 60),
        ("waiting, its time not come: nothing recorded, nothing called in AWS",
         snap(), WAITING, clock(), [], "AccountQuotaReached", None),
        ("waiting, more accounts than at the refusal (added elsewhere): still no room, still waiting",
         snap(acct("333333333333", "x@example.com")), WAITING, clock(),
         [], "AccountQuotaReached", None),
        ("the wait is over: the creation starts again with a new intent",
         snap(), WAITING, clock(now=NOW + datetime.timedelta(seconds=60)), INTENT_AGAIN, None, None),
        ("the spec changed (generation): tried at once",
         snap(), WAITING, clock(generation=2), INTENT_AGAIN, None, None),
        ("the operator's accounts limit changed: tried at once",
         snap(), WAITING, clock(accounts_limit=20), INTENT_AGAIN, None, None),
        ("fewer accounts in the organization than at the refusal (one closed for good or removed): tried at once",
         snap(), AccountRecord(backoff=backoff(accounts=2)), clock(), INTENT_AGAIN, None, None),
        ("an account with this email appeared while waiting: adopted, whatever the wait",
         snap(PROD_ACCT), WAITING, clock(), [], None, None),
        ("no clock given (a plan outside the operator): no wait is measured, the FAILED request is reported as it is",
         snap(), REFUSED, CreationView(request=FULL), [ForgetCreateRequest("car-1")], "CreateAccountFailed", None),
    ],
)
def test_create_account_backs_off_at_a_full_quota(
    reason: str, snapshot: OrgSnapshot, record: AccountRecord, creation: CreationView, actions: list[object],
    blocked: str | None, delay: int | None,
) -> None:
    plan = plan_account(want(), snapshot, record, creation)
    assert list(plan.actions) == actions, reason
    assert (plan.blocked.reason if plan.blocked else None) == blocked, reason
    written = plan.status.creation_backoff if plan.status is not None else None
    assert (written.delay_seconds if written else None) == delay, reason
    if written is not None:
        assert written.next_attempt_at == when_text(NOW + datetime.timedelta(seconds=delay or 0))
        assert (written.generation, written.accounts_limit, written.accounts) == (1, 10, len(snapshot.accounts))


def test_the_quota_wait_says_the_quota_the_next_try_and_how_to_raise_it() -> None:
    plan = plan_account(want(), snap(), WAITING, clock())
    assert plan.blocked is not None
    message = plan.blocked.message
    for words in ("quota of accounts (1 accounts", "accounts limit is 10", '"Default maximum number of accounts"',
                  f"tried again at {when_text(NOW + datetime.timedelta(seconds=60))}", "Service Quotas",
                  "--limits accounts=", "waiting 60 s"):
        assert words in message, (words, message)
    assert plan.blocked.slow  # looked at again at the resync interval, with no AWS call
