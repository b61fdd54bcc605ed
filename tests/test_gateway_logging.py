"""The central logging gateway against the strict sandbox over HTTP: the bucket, trail, recorders and aggregator
land in the accounts they belong to, in the order AWS requires, and read back as the planner needs them."""

from __future__ import annotations

import pytest

from controller.aws.central_logging import BucketNameTaken, CentralLoggingGateway
from controller.aws.member import MemberAccounts
from controller.aws.retry import RetryPolicy
from controller.aws.session import cloudtrail_client, iam_client, member_service_client, sts_client
from controller.planner.central_logging import DesiredLogging, bucket_policy, policy_text
from controller.sandbox.aws import AwsSandbox
from tests.test_gateway_member import new_account

FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)
R = "us-east-1"


@pytest.fixture
def gateway(aws: AwsSandbox, monkeypatch: pytest.MonkeyPatch) -> CentralLoggingGateway:
    for key, value in aws.env().items():
        monkeypatch.setenv(key, value)
    members = MemberAccounts(sts_client(), iam_client, retry=FAST, clients=member_service_client)
    return CentralLoggingGateway(members, cloudtrail_client, retry=FAST)


def test_the_baseline_in_aws_s_order_reads_back(aws: AwsSandbox, gateway: CentralLoggingGateway) -> None:
    org = aws.client()
    archive, dev = new_account(aws, "Archive"), new_account(aws, "Dev")
    for principal in ("cloudtrail.amazonaws.com", "config.amazonaws.com"):
        org.enable_aws_service_access(ServicePrincipal=principal)
    org.register_delegated_administrator(AccountId=archive, ServicePrincipal="config.amazonaws.com")
    desired = DesiredLogging(archive, "org-logs-gw", R, 30, "org-trail", (R,), "org-agg")
    assert gateway.read_bucket(archive, R, "org-logs-gw").owned is False

    gateway.create_bucket(archive, R, "org-logs-gw")
    gateway.create_bucket(archive, R, "org-logs-gw")  # ours already: fine
    gateway.put_bucket_encryption(archive, R, "org-logs-gw")
    assert gateway.read_bucket(archive, R, "org-logs-gw").versioned is False
    gateway.put_bucket_versioning(archive, R, "org-logs-gw")
    gateway.block_public_access(archive, R, "org-logs-gw")
    gateway.put_retention(archive, R, "org-logs-gw", 30)
    policy = policy_text(bucket_policy(desired, aws.ids["organization_id"], "123456789012"))  # type: ignore[index]
    gateway.put_bucket_policy(archive, R, "org-logs-gw", policy)
    bucket = gateway.read_bucket(archive, R, "org-logs-gw")
    assert (bucket.owned, bucket.encrypted, bucket.public_access_blocked, bucket.expiration_days) == (True, True,
                                                                                                     True, 30)
    assert bucket.versioned  # read back from AWS (GetBucketVersioning), not from what the gateway remembers

    arn = gateway.create_trail(R, "org-trail", "org-logs-gw")
    gateway.start_logging(R, "org-trail")
    trail = gateway.read_trail(R, "org-trail")
    assert trail is not None and trail.arn == arn and trail.logging and trail.organization and trail.multi_region
    assert gateway.stop_logging(R, "org-trail")
    assert gateway.read_trail(R, "org-trail").logging is False  # type: ignore[union-attr]

    gateway.ensure_recorder(dev, R, "org-logs-gw", None)
    seen = gateway.read_config(dev, [R]).regions[R]
    assert (seen.recorder, seen.recording, seen.channel_bucket) == ("default", True, "org-logs-gw")
    assert gateway.read_aggregator(archive, R, "org-agg") is None
    assert f":{archive}:" in gateway.put_aggregator(archive, R, "org-agg")
    assert gateway.read_aggregator(archive, R, "org-agg") is not None

    # Delete, in reverse order: each step answers "already gone" the second time without failing.
    assert gateway.delete_aggregator(archive, R, "org-agg") and not gateway.delete_aggregator(archive, R, "org-agg")
    gateway.remove_recorder(dev, R, "default")
    assert gateway.read_config(dev, [R]).regions[R].recorder is None
    assert gateway.delete_trail(R, "org-trail") and gateway.read_trail(R, "org-trail") is None


def test_a_bucket_name_taken_elsewhere_is_remembered(aws: AwsSandbox, gateway: CentralLoggingGateway) -> None:
    archive = new_account(aws, "Archive")
    aws.service_client("s3").create_bucket(Bucket="taken-name")  # the management account's, not the archive's
    with pytest.raises(BucketNameTaken):
        gateway.create_bucket(archive, R, "taken-name")
    assert gateway.read_bucket(archive, R, "taken-name").taken is True


def test_a_new_account_not_assumable_yet_is_a_wait(aws: AwsSandbox, gateway: CentralLoggingGateway) -> None:
    found = gateway.read_config("999988887777", [R])  # no such account: AssumeRole refused
    assert found.waiting and found.error is not None and "AssumeRole" in found.error
