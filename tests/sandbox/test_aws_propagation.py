"""IAM's and S3's eventual consistency as the sandbox plays it (controller/sandbox/propagation.py quotes the IAM user
guide): for ``propagation_delay`` seconds after a policy write, STS, CloudTrail and Config decide on what was there
before it, and answer what AWS answers then; IAM and S3 themselves answer the new state at once."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from controller.sandbox.aws import AwsSandbox
from tests.sandbox.test_aws_logging import BUCKET, _aggregator, _code, _new_account, _policy, _recorder, _trail

DELAY = 2.0  # long enough for the next call on a loaded machine
CONFIG_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _trust(account: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}]})


def test_assume_role_of_a_just_created_role_is_denied_until_iam_s_change_is_seen(aws: AwsSandbox) -> None:
    mgmt = aws.ids["management_account_id"]  # type: ignore[index]
    aws.propagation_delay = DELAY
    iam, sts = aws.service_client("iam"), aws.service_client("sts")
    iam.create_role(RoleName="Fresh", AssumeRolePolicyDocument=_trust(mgmt))
    assert iam.get_role(RoleName="Fresh")["Role"]["RoleName"] == "Fresh"  # IAM itself sees it at once
    arn = f"arn:aws:iam::{mgmt}:role/Fresh"
    with pytest.raises(ClientError) as refused:
        sts.assume_role(RoleArn=arn, RoleSessionName="test")
    assert _code(refused) == "AccessDenied"
    time.sleep(DELAY + 0.2)
    assert sts.assume_role(RoleArn=arn, RoleSessionName="test")["Credentials"]["AccessKeyId"]

    # A trust policy that no longer admits the caller: STS still admits it while the change propagates.
    iam.update_assume_role_policy(RoleName="Fresh", PolicyDocument=CONFIG_TRUST)
    assert sts.assume_role(RoleArn=arn, RoleSessionName="test")["Credentials"]["AccessKeyId"]
    time.sleep(DELAY + 0.2)
    with pytest.raises(ClientError) as refused:
        sts.assume_role(RoleArn=arn, RoleSessionName="test")
    assert _code(refused) == "AccessDenied"


def test_with_no_delay_every_change_is_seen_at_once(aws: AwsSandbox) -> None:
    mgmt = aws.ids["management_account_id"]  # type: ignore[index]
    aws.service_client("iam").create_role(RoleName="Fresh", AssumeRolePolicyDocument=_trust(mgmt))
    aws.service_client("sts").assume_role(RoleArn=f"arn:aws:iam::{mgmt}:role/Fresh", RoleSessionName="test")


def test_create_trail_right_after_put_bucket_policy_is_refused_as_insufficient(aws: AwsSandbox) -> None:
    org_id = aws.ids["organization_id"]  # type: ignore[index]
    archive = _new_account(aws)
    aws.client().enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    s3 = aws.member_client("s3", archive)
    s3.create_bucket(Bucket=BUCKET)
    aws.propagation_delay = DELAY
    s3.put_bucket_policy(Bucket=BUCKET, Policy=_policy(org_id, trail_org=org_id))
    assert "cloudtrail" in s3.get_bucket_policy(Bucket=BUCKET)["Policy"]  # S3 itself answers the new policy
    with pytest.raises(ClientError) as refused:
        _trail(aws)
    assert _code(refused) == "InsufficientS3BucketPolicyException"
    time.sleep(DELAY + 0.2)
    assert _trail(aws)["IsOrganizationTrail"] is True


def test_put_delivery_channel_right_after_put_bucket_policy_is_refused(aws: AwsSandbox) -> None:
    org_id = aws.ids["organization_id"]  # type: ignore[index]
    archive, workload = _new_account(aws), _new_account(aws, "Workload")
    config = _recorder(aws, workload)
    s3 = aws.member_client("s3", archive)
    s3.create_bucket(Bucket=BUCKET)
    aws.propagation_delay = DELAY
    s3.put_bucket_policy(Bucket=BUCKET, Policy=_policy(org_id, config_org=org_id))
    with pytest.raises(ClientError) as refused:
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": BUCKET})
    assert _code(refused) == "InsufficientDeliveryPolicyException"
    time.sleep(DELAY + 0.2)
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": BUCKET})


def test_the_aggregator_right_after_its_role_s_create_role_is_refused(aws: AwsSandbox) -> None:
    archive = _new_account(aws)
    org = aws.client()
    org.enable_aws_service_access(ServicePrincipal="config.amazonaws.com")
    org.register_delegated_administrator(AccountId=archive, ServicePrincipal="config.amazonaws.com")
    iam, config = aws.member_client("iam", archive), aws.member_client("config", archive)
    aws.propagation_delay = DELAY
    iam.create_role(RoleName="ConfigAggregator", AssumeRolePolicyDocument=CONFIG_TRUST)
    with pytest.raises(ClientError) as refused:
        config.put_configuration_aggregator(ConfigurationAggregatorName="org", OrganizationAggregationSource={
            "RoleArn": f"arn:aws:iam::{archive}:role/ConfigAggregator", "AllAwsRegions": True})
    assert _code(refused) == "InvalidRoleException"
    time.sleep(DELAY + 0.2)
    assert _aggregator(aws, archive, "ConfigAggregator")["ConfigurationAggregator"]["ConfigurationAggregatorArn"]
