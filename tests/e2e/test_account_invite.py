"""Invitation end to end: an AWS account outside the organization is invited from Git (spec.invite with
spec.accountId), accepted from the account's side, bound and placed in its OU, with MemberRole False
(MemberRoleMissing: AWS gives an invited account no OrganizationAccountAccessRole); a declined invitation ends
(InvitationEnded) and no second one is sent until the spec changes."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import Cluster, Operator, account, condition, orgunit, wait_for

pytestmark = pytest.mark.e2e


def invitations(aws: AwsSandbox) -> list[dict]:
    return list(aws.client().list_handshakes_for_organization(Filter={"ActionType": "INVITE"})["Handshakes"])


def parent_of(aws: AwsSandbox, account_id: str) -> str:
    return str(aws.client().list_parents(ChildId=account_id)["Parents"][0]["Id"])


def test_invite_accept_and_decline(aws: AwsSandbox, cluster: Cluster,
                                   start_operator: Callable[..., Operator]) -> None:
    start_operator(AWSORG_RESYNC_SECONDS="1")
    legacy = aws.standalone_account("legacy@example.com", "Legacy")
    acquired = aws.standalone_account("acquired@example.com", "Acquired")
    cluster.client.apply(orgunit("workloads", name="Workloads"))
    cluster.client.apply(account("legacy", accountName="Legacy", email="legacy@example.com", accountId=legacy,
                                 invite={"notes": "Welcome to the organization"}, orgUnitRef={"name": "workloads"},
                                 tags={"team": "legacy"}))
    cluster.client.apply(account("acquired", accountName="Acquired", email="acquired@example.com",
                                 accountId=acquired, invite={}))

    # Invited: one handshake each, recorded in status, the reason saying when it expires.
    invited = cluster.wait_reason("awsaccounts", "legacy", "Synced", "Invited")
    handshake = invited["status"]["invitationHandshakeId"]
    assert handshake.startswith("h-") and invited["status"]["invitationState"] == "OPEN"
    assert "expires" in condition(invited, "Synced")["message"]  # type: ignore[index]
    cluster.wait_reason("awsaccounts", "acquired", "Synced", "Invited")
    sent = invitations(aws)
    assert sorted(p["Id"] for h in sent for p in h["Parties"] if p["Type"] == "ACCOUNT") == sorted([legacy, acquired])
    assert aws.answered_calls()["InviteAccountToOrganization"] == 2

    # Accepted from the account's side: bound, in its OU, tagged as the invitation said; no member role.
    aws.accept_invitation(legacy)
    workloads = cluster.wait_ready("orgunits", "workloads")["status"]["id"]
    obj = cluster.wait_ready("awsaccounts", "legacy", timeout=30)
    assert obj["status"]["id"] == legacy and obj["status"]["invitationState"] == "ACCEPTED"
    assert parent_of(aws, legacy) == workloads == obj["status"]["parentId"]
    joined = aws.client().describe_account(AccountId=legacy)["Account"]
    assert joined["JoinedMethod"] == "INVITED"
    role = wait_for(lambda: condition(cluster.get("awsaccounts", "legacy"), "MemberRole"), what="MemberRole")
    assert role["status"] == "False" and role["reason"] == "MemberRoleMissing"
    assert "OrganizationAccountAccessRole" in role["message"] and "create the IAM role" in role["message"]
    assert "StackSet" in role["message"]

    # Declined: InvitationEnded; no second invitation while the spec stays; a changed spec sends one.
    aws.decline_invitation(acquired)
    ended = cluster.wait_reason("awsaccounts", "acquired", "Synced", "InvitationEnded")
    assert "DECLINED" in condition(ended, "Synced")["message"]  # type: ignore[index]
    wait_for(lambda: cluster.get("awsaccounts", "acquired")["status"].get("invitationState") == "DECLINED" or None,
             what="the state in status")
    calls = len([c for c in aws.calls if c == "ListHandshakesForOrganization"])
    wait_for(lambda: len([c for c in aws.calls if c == "ListHandshakesForOrganization"]) >= calls + 2 or None,
             what="two more looks")
    assert aws.answered_calls()["InviteAccountToOrganization"] == 2
    cluster.client.apply(account("acquired", accountName="Acquired", email="acquired@example.com",
                                 accountId=acquired, invite={"notes": "Second try"}))
    again = cluster.wait_reason("awsaccounts", "acquired", "Synced", "Invited")
    assert again["status"]["invitationHandshakeId"] != ended["status"]["invitationHandshakeId"]
    assert aws.answered_calls()["InviteAccountToOrganization"] == 3

    # Deleted before the account answered: the invitation is withdrawn, so the account cannot join later with no
    # object to manage it (deletionPolicy Retain: the invitation is the object's pending work, not an account).
    cluster.client.delete("awsaccounts", "acquired")
    cluster.wait_gone("awsaccounts", "acquired")
    states = {h["Id"]: h["State"] for h in invitations(aws)}
    assert states[again["status"]["invitationHandshakeId"]] == "CANCELED"
    assert aws.answered_calls()["CancelHandshake"] == 1


def test_killed_after_the_invitation_before_the_status_write(aws: AwsSandbox, cluster: Cluster,
                                                             start_operator: Callable[..., Operator]) -> None:
    """SIGKILL while InviteAccountToOrganization is answered in AWS but not yet recorded: the restarted operator
    finds the open invitation and binds it; one invitation, one binding."""
    outside = aws.standalone_account("crash@example.com", "Crash")
    aws.inject_response_delay("InviteAccountToOrganization", 30.0)  # AWS acts at once; the operator never hears
    first = start_operator(AWSORG_RESYNC_SECONDS="1")
    cluster.client.apply(account("crash", accountName="Crash", email="crash@example.com", accountId=outside,
                                 invite={}))
    wait_for(lambda: "InviteAccountToOrganization" in aws.calls or None, what="the invitation to be sent")
    time.sleep(0.3)
    first.kill()
    status = (cluster.get("awsaccounts", "crash") or {}).get("status", {})
    assert status.get("invitationStartedAt") and not status.get("invitationHandshakeId")
    aws.clear_injected_errors()
    start_operator(AWSORG_RESYNC_SECONDS="1")
    bound = cluster.wait_reason("awsaccounts", "crash", "Synced", "Invited", timeout=30)
    [sent] = invitations(aws)
    assert bound["status"]["invitationHandshakeId"] == sent["Id"]
    aws.accept_invitation(outside)
    assert cluster.wait_ready("awsaccounts", "crash", timeout=30)["status"]["id"] == outside
    assert aws.answered_calls()["InviteAccountToOrganization"] == 1 and len(invitations(aws)) == 1
