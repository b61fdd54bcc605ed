"""AWS API calls are the scarce resource: count what one resync costs for 200 accounts, 8 OUs, 10 SCPs.

Formula (docs/monitoring.md): per resync, 2 (DescribeOrganization, ListRoots) + per parent
ceil(OUs/20) + ceil(accounts/20) (at least 1 each) + per enabled policy type ceil(policies/20) +
per customer-managed policy 1 DescribePolicy + ceil(targets/20), then tag reads for at most a tenth
(rounded up) of the objects that declare tags. Nothing per object otherwise.
"""

from __future__ import annotations

import collections
from typing import Any

import pytest

from benchmarks.org_builder import build
from controller.aws.gateway import OrganizationsGateway
from controller.aws.retry import RetryPolicy
from controller.reconciler.account import AwsAccountAdapter
from controller.reconciler.base import Claim, ObjectView, RefState
from controller.reconciler.engine import Engine
from controller.reconciler.inventory import Inventory
from controller.sandbox.aws import AwsSandbox
from controller.settings import Settings

RESYNC = 300.0


class NoRefs:
    def get(self, kind: str, name: str) -> RefState:
        return RefState(exists=False)

    def claims(self, kind: str, key: str) -> list[Claim]:
        return []


def synced_view(i: int, account_id: str, parent: str, epoch_time: float) -> ObjectView:
    spec = {"accountName": f"Account {i}", "email": f"acct{i}@example.com", "parentId": parent,
            "tags": {"team": f"t{i % 7}"}}
    status: dict[str, Any] = {
        "id": account_id, "observedGeneration": 1,
        "conditions": [{"type": "Synced", "status": "True", "reason": "ReconcileSuccess", "observedGeneration": 1,
                        "lastTransitionTime": "2026-01-01T00:00:00Z", "message": ""}],
    }
    return ObjectView(kind="AwsAccount", name=f"acct-{i:03d}", generation=1, spec=spec, status=status,
                      trigger="resync")


@pytest.fixture
def big_org(aws: AwsSandbox) -> Any:
    """An organization grown over months: built without AWS's throttling and writes' time in flight (both back
    on for the test); its account quota raised (AWS's default is 10)."""
    aws.quotas.max_accounts = 201
    traffic = aws.traffic
    saved = traffic.rate, traffic.write_seconds
    traffic.rate = traffic.write_seconds = None
    try:
        return build(aws.client(), accounts=200, ous=8, policies=10)
    finally:
        traffic.rate, traffic.write_seconds = saved


def test_one_resync_of_200_accounts_costs_a_snapshot_and_a_tenth_of_the_tags(aws: AwsSandbox, big_org: Any) -> None:
    clock = [1000 * RESYNC]
    # The operator's retries: AWS throttles the snapshot's burst of reads; throttled calls are retried, and
    # not counted below (aws.answered_calls), since they cost nothing but time.
    gateway = OrganizationsGateway(aws.client(max_attempts=1), retry=RetryPolicy())
    inventory = Inventory()
    reconciler = Engine(AwsAccountAdapter(), gateway, NoRefs(), settings=Settings(resync_seconds=RESYNC),
                        clock=lambda: clock[0], inventory=inventory)
    views = [synced_view(i, acct, big_org.account_parents[acct], clock[0])
             for i, acct in enumerate(big_org.account_ids)]
    for view in views:  # what kopf's resume does at start-up: every object is known before resyncs
        inventory.record("AwsAccount", view.name, view.status["id"], True)

    aws.reset_calls()
    gateway.snapshot(max_age=0)  # the observer's read, once per resync
    structure = aws.answered_calls()
    assert sum(structure.values()) <= 50, structure
    assert set(structure) <= {"DescribeOrganization", "ListRoots", "ListOrganizationalUnitsForParent",
                              "ListAccountsForParent", "ListPolicies", "DescribePolicy", "ListTargetsForPolicy"}

    read_per_resync = []
    tags_read: collections.Counter[str] = collections.Counter()
    for resync in range(10):
        aws.traffic.reset()  # a resync (300 s) later, the throttling bucket is full again
        aws.reset_calls()
        for view in views:
            outcome = reconciler.reconcile(view)
            assert outcome.result == "success", outcome.status
        calls = aws.answered_calls()
        assert set(calls) <= {"ListTagsForResource"}, calls  # no per-object Describe, no re-read
        read_per_resync.append(calls["ListTagsForResource"])
        tags_read.update(f"r{resync}" for _ in range(calls["ListTagsForResource"]))
        clock[0] += RESYNC
    assert max(read_per_resync) <= 20, read_per_resync  # at most a tenth of 200 per resync
    assert sum(read_per_resync) == 200  # and every object's tags within 10 resyncs, once


def test_a_tag_change_in_git_is_read_and_applied_at_once(aws: AwsSandbox, big_org: Any) -> None:
    gateway = OrganizationsGateway(aws.client(max_attempts=1))
    reconciler = Engine(AwsAccountAdapter(), gateway, NoRefs(), settings=Settings(resync_seconds=RESYNC))
    acct = big_org.account_ids[0]
    view = synced_view(0, acct, big_org.account_parents[acct], 0)
    changed = ObjectView(kind=view.kind, name=view.name, generation=2, trigger="change",
                         spec={**view.spec, "tags": {"team": "new"}}, status=view.status)
    gateway.snapshot()
    aws.reset_calls()
    reconciler.reconcile(changed)
    assert aws.answered_calls() == {"ListTagsForResource": 1, "TagResource": 1}  # a throttled one is retried
    assert aws.calls[0] == "ListTagsForResource" and aws.calls[-1] == "TagResource"  # read, then written
    tags = aws.client().list_tags_for_resource(ResourceId=acct)["Tags"]
    assert tags == [{"Key": "team", "Value": "new"}]


def test_central_logging_reads_each_account_s_config_once_in_10_resyncs_outside_organizations(
        aws: AwsSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """benchmarks/logging_cost.py, small: a quiet resync reads the trail (3 CloudTrail calls), the bucket (7 S3) and
    the aggregator (1 Config) every time, and each member account's recorder, channel and the channel's delivery
    status (3 Config calls per region where a recorder records) once every 10 resyncs; nothing of it goes to AWS
    Organizations. The trail's delivery health comes with GetTrailStatus: no call of its own."""
    from benchmarks.logging_cost import resync_costs

    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    aws.traffic.rate = None  # calls counted, not throttled (the fixture puts the throttle back)
    org = aws.client()
    ids = [str(org.describe_create_account_status(CreateAccountRequestId=org.create_account(
        AccountName=f"Member {i}", Email=f"member{i}@example.com")["CreateAccountStatus"]["Id"])[
        "CreateAccountStatus"]["AccountId"]) for i in range(4)]
    setup, per_resync = resync_costs(aws, ids[0], 10)
    assert setup["config"] > 0 and setup["cloudtrail"] == 3  # CreateTrail, StartLogging, DescribeTrails
    for calls in per_resync:
        assert calls["cloudtrail"] == 3 and calls["s3"] == 7, calls
        assert calls["iam"] == calls["sts"] == 0, calls  # credentials cached for the hour; nothing to write
    assert sum(c["config"] for c in per_resync) == 10 * 1 + 4 * 3  # the aggregator each time, each account once
    assert len({c["organizations"] for c in per_resync}) == 1  # the same Organizations reads, whatever is due


def test_root_access_reads_iam_s_features_each_resync_and_each_root_user_once_in_10(
        aws: AwsSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """spec.rootAccess: a quiet resync costs one ListOrganizationsFeatures (IAM, management account) and
    GetAccountSummary in each member account once every 10 resyncs (through the member role); nothing of it goes
    to AWS Organizations beyond what the Organization reads anyway (ListAWSServiceAccessForOrganization)."""
    from benchmarks.logging_cost import Refs, calls_made
    from controller.aws.member import MemberAccounts
    from controller.aws.session import iam_client, management_iam_client, organizations_client, sts_client
    from controller.reconciler.organization import OrganizationAdapter

    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    aws.traffic.rate = None  # calls counted, not throttled (the fixture puts the throttle back)
    org = aws.client()
    for i in range(4):
        org.create_account(AccountName=f"Member {i}", Email=f"member{i}@example.com")
    clock = [1009 * RESYNC]  # the set-up at a cycle's last resync: the 10 quiet resyncs are the next whole cycle
    fast = RetryPolicy(attempts=1)
    members = MemberAccounts(sts_client(), iam_client, retry=fast, clock=lambda: clock[0])
    gateway = OrganizationsGateway(organizations_client(), retry=fast, members=members,
                                   iam_client=management_iam_client)
    engine = Engine(OrganizationAdapter(), gateway, Refs(""), settings=Settings(resync_seconds=RESYNC),
                    clock=lambda: clock[0])
    spec = {"trustedServices": ["iam.amazonaws.com"], "rootAccess": {"credentialsManagement": True}}
    outcome = engine.reconcile(ObjectView("Organization", "organization", 1, spec, {}, trigger="change"))
    assert outcome.result == "success", outcome.status
    assert aws.root_access_features() == {"RootCredentialsManagement"}
    status, per_resync = outcome.status, []
    for _ in range(10):
        clock[0] += RESYNC
        gateway.snapshot(max_age=0)  # the observer's read, shared by every object
        before = calls_made()
        outcome = engine.reconcile(ObjectView("Organization", "organization", 1, spec, status, trigger="resync"))
        assert outcome.result == "success", outcome.status
        status = outcome.status
        per_resync.append(calls_made() - before)
    assert [c["ListOrganizationsFeatures"] for c in per_resync] == [1] * 10
    assert sum(c["GetAccountSummary"] for c in per_resync) == 4  # each member account once in 10 resyncs
    assert all(c["ListAWSServiceAccessForOrganization"] == 1 for c in per_resync)
    assert not any(c[op] for c in per_resync for op in ("EnableOrganizationsRootCredentialsManagement",
                                                        "EnableAWSServiceAccess"))
    assert status["rootAccess"]["accountsChecked"] == 4
