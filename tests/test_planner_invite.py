"""Table tests of the invitation in the pure AwsAccount planner: spec.invite with spec.accountId of an account outside
the organization. Each case says why the expected plan is right."""

from __future__ import annotations

import datetime

import pytest

from controller.planner.account import (
    AccountRecord,
    DesiredAccount,
    InvitationView,
    invite_key,
    plan_account,
    plan_account_delete,
)
from controller.planner.actions import (
    BindInvitation,
    CancelInvitation,
    ForgetInvitation,
    InviteAccount,
    MoveAccount,
    RecordInvitationIntent,
)
from controller.state import ObservedAccount, ObservedInvitation, ObservedOU, OrgSnapshot

ROOT = "r-ab12"
MGMT = "111111111111"
OUTSIDE = "444444444444"
NOW = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=datetime.UTC)
PROD = ObservedOU("ou-ab12-11111111", "arn:ou/prod", "Production", ROOT)
MANAGEMENT = ObservedAccount(MGMT, "arn:acct/m", "Management", "root@example.com", "ACTIVE", ROOT)
KEY = invite_key(OUTSIDE, "welcome")


def snap(*accounts: ObservedAccount) -> OrgSnapshot:
    return OrgSnapshot("o-x", MGMT, ROOT, "arn:root", ous={PROD.id: PROD},
                       accounts={a.id: a for a in (MANAGEMENT, *accounts)})


def want(**kw: object) -> DesiredAccount:
    base: dict[str, object] = dict(object_name="legacy", account_name="Legacy", email="legacy@example.com",
                                   parent_id=PROD.id, account_id=OUTSIDE, invite=True, invite_notes="welcome")
    base.update(kw)
    return DesiredAccount(**base)  # type: ignore[arg-type]


def hs(state: str, ident: str = "h-1", target: str = OUTSIDE) -> ObservedInvitation:
    return ObservedInvitation(ident, state, target, NOW, NOW + datetime.timedelta(days=15))


INTENT = AccountRecord(invitation_started_at=NOW, invitation_for=KEY)
SENT = AccountRecord(invitation_started_at=NOW, invitation_for=KEY, invitation_id="h-1")
JOINED = ObservedAccount(OUTSIDE, "arn:acct/o", "Legacy", "legacy@example.com", "ACTIVE", ROOT, "INVITED")


@pytest.mark.parametrize(
    ("reason", "desired", "snapshot", "record", "view", "actions", "blocked"),
    [
        ("no intent yet: record it before any call, so a crash after the call finds the invitation, not a second",
         want(), snap(), AccountRecord(), InvitationView(), [RecordInvitationIntent(OUTSIDE, KEY)], None),
        ("intent recorded, no invitation open: InviteAccountToOrganization with the notes",
         want(), snap(), INTENT, InvitationView(), [InviteAccount(OUTSIDE, "welcome", {})], None),
        ("intent recorded and an invitation open to the account (sent before a crash): bound, never a second",
         want(), snap(), INTENT, InvitationView((hs("OPEN"),), 1),
         [BindInvitation("h-1", "OPEN", "2026-12-22T12:00:00Z")], None),
        ("an ended invitation to the account is not ours to wait for: a new one is sent",
         want(), snap(), INTENT, InvitationView((hs("DECLINED", "h-0"),), 1), [InviteAccount(OUTSIDE, "welcome", {})],
         None),
        ("20 invitations sent in the last 24 hours: AWS's daily limit; waits, nothing sent",
         want(), snap(), INTENT, InvitationView((), 20), [], "InvitationLimitReached"),
        ("the recorded invitation is open: waits (Invited, with its expiry)",
         want(), snap(), SENT, InvitationView((hs("OPEN"),), 1), [], "Invited"),
        ("the recorded invitation was declined: InvitationEnded, no second invitation while the spec is the same",
         want(), snap(), SENT, InvitationView((hs("DECLINED"),), 1), [], "InvitationEnded"),
        ("expired (15 days) likewise", want(), snap(), SENT, InvitationView((hs("EXPIRED"),), 1), [],
         "InvitationEnded"),
        ("canceled (by the management account) likewise", want(), snap(), SENT, InvitationView((hs("CANCELED"),), 1),
         [], "InvitationEnded"),
        ("no longer listed (AWS lists ended handshakes for 30 days): ended, no second invitation",
         want(), snap(), SENT, InvitationView(), [], "InvitationEnded"),
        ("spec.invite changed since the last invitation: forget it, so that a new one is sent",
         want(invite_notes="please join"), snap(), SENT, InvitationView((hs("DECLINED"),), 1),
         [ForgetInvitation("h-1")], None),
        ("accepted: the account is a member (JoinedMethod INVITED), bound and moved to its OU like any other",
         want(), snap(JOINED), SENT, InvitationView((hs("ACCEPTED"),), 1),
         [MoveAccount(OUTSIDE, ROOT, PROD.id)], None),
        ("accepted but the snapshot predates it: reads it, nothing sent",
         want(), snap(), SENT, InvitationView((hs("ACCEPTED"),), 1), [], "Invited"),
        ("without spec.invite an account outside the organization is not invited: NotFound, naming spec.invite",
         want(invite=False), snap(), AccountRecord(), InvitationView(), [], "NotFound"),
        ("managementPolicy Observe never invites", want(observe_only=True), snap(), AccountRecord(), InvitationView(),
         [], "NotFound"),
        ("the invitation's tags are the spec's tags (AWS attaches them when the account joins), aws: keys left out",
         want(tags={"team": "a", "aws:x": "y"}), snap(), INTENT, InvitationView(),
         [InviteAccount(OUTSIDE, "welcome", {"team": "a"})], None),
    ],
)
def test_plan_invitation(reason: str, desired: DesiredAccount, snapshot: OrgSnapshot, record: AccountRecord,
                         view: InvitationView, actions: list[object], blocked: str | None) -> None:
    plan = plan_account(desired, snapshot, record, invitation=view)
    assert list(plan.actions) == actions, reason
    assert (plan.blocked.reason if plan.blocked else None) == blocked, reason


def test_the_messages_say_what_to_do() -> None:
    waiting = plan_account(want(), snap(), SENT, invitation=InvitationView((hs("OPEN"),), 1))
    assert waiting.blocked is not None and "expires 2026-12-22T12:00:00Z" in waiting.blocked.message
    assert waiting.status is not None and waiting.status.invitation_state == "OPEN"
    ended = plan_account(want(), snap(), SENT, invitation=InvitationView((hs("DECLINED"),), 1))
    assert ended.blocked is not None and not ended.blocked.retry
    assert "DECLINED" in ended.blocked.message and "spec.invite changes" in ended.blocked.message
    limited = plan_account(want(), snap(), INTENT, invitation=InvitationView((), 20))
    assert limited.blocked is not None and "20 a day" in limited.blocked.message and limited.blocked.slow
    outside = plan_account(want(invite=False), snap(), AccountRecord())
    assert outside.blocked is not None and "add spec.invite" in outside.blocked.message


@pytest.mark.parametrize(("reason", "record", "policy", "actions"), [
    ("deleted while invited: the invitation is withdrawn, whatever the deletionPolicy (the object's pending work)",
     SENT, "Retain", [CancelInvitation("h-1")]),
    ("the same under Close: there is no account of the organization to close yet", SENT, "Close",
     [CancelInvitation("h-1")]),
    ("only the intent recorded, no handshake id: nothing was sent that this object knows of", INTENT, "Retain", []),
    ("accepted and bound: the account's own deletionPolicy decides, not the invitation",
     AccountRecord(id=OUTSIDE, invitation_id="h-1"), "Retain", []),
])
def test_deleting_an_invited_object(reason: str, record: AccountRecord, policy: str, actions: list[object]) -> None:
    plan = plan_account_delete(record, snap(JOINED) if record.id else snap(), policy=policy, observe_only=False)
    assert list(plan.actions) == actions, reason
