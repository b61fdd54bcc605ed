"""The sandbox's CloudTrail and Config refuse what AWS refuses and moto accepts: an organization trail without
trusted access or into a bucket whose policy does not let CloudTrail write; an organization aggregator outside
the management account and Config's delegated administrators, or with a role Config cannot assume; a delivery
channel into another account's bucket whose policy does not admit Config (controller/sandbox/logging_services.py
quotes the AWS sources)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from controller.sandbox.aws import AwsSandbox

BUCKET = "org-logs-sandbox-test"
MGMT = "123456789012"


def _new_account(aws: AwsSandbox, name: str = "Log Archive") -> str:
    org = aws.client()
    request = org.create_account(AccountName=name, Email=f"{name.replace(' ', '').lower()}@example.com")
    return str(org.describe_create_account_status(CreateAccountRequestId=request["CreateAccountStatus"]["Id"])[
        "CreateAccountStatus"]["AccountId"])


def _policy(org_id: str, *, trail_org: str | None = None, config_org: str | None = None) -> str:
    """CloudTrail's and Config's statements, each scoped by aws:SourceOrgID (None: the statement left out)."""
    statements: list[dict[str, Any]] = []
    for service, scope, keys in (("cloudtrail.amazonaws.com", trail_org, [f"AWSLogs/{MGMT}/*", f"AWSLogs/{org_id}/*"]),
                                 ("config.amazonaws.com", config_org, ["AWSLogs/*/Config/*"])):
        if scope is None:
            continue
        cond = {"StringEquals": {"aws:SourceOrgID": scope}}
        statements += [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "s3:GetBucketAcl",
             "Resource": f"arn:aws:s3:::{BUCKET}", "Condition": cond},
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "s3:PutObject",
             "Resource": [f"arn:aws:s3:::{BUCKET}/{k}" for k in keys],
             "Condition": {"StringEquals": {"aws:SourceOrgID": scope, "s3:x-amz-acl": "bucket-owner-full-control"}}},
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _trail(aws: AwsSandbox, **extra: Any) -> Any:
    return aws.service_client("cloudtrail").create_trail(Name="org", S3BucketName=BUCKET, IsOrganizationTrail=True,
                                                         IsMultiRegionTrail=True, **extra)


def test_an_organization_trail_needs_trusted_access_and_a_bucket_policy_for_this_organization(
        aws: AwsSandbox) -> None:
    org_id = aws.ids["organization_id"]  # type: ignore[index]
    archive = _new_account(aws)
    s3 = aws.member_client("s3", archive)
    s3.create_bucket(Bucket=BUCKET)
    with pytest.raises(ClientError) as refused:
        _trail(aws)
    assert _code(refused) == "CloudTrailAccessNotEnabledException"

    aws.client().enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    with pytest.raises(ClientError) as refused:
        _trail(aws)  # no bucket policy at all
    assert _code(refused) == "InsufficientS3BucketPolicyException"
    s3.put_bucket_policy(Bucket=BUCKET, Policy=_policy(org_id, trail_org="o-someoneelse1"))
    with pytest.raises(ClientError) as refused:
        _trail(aws)  # scoped to another organization
    assert _code(refused) == "InsufficientS3BucketPolicyException"
    s3.put_bucket_policy(Bucket=BUCKET, Policy=_policy(org_id, config_org=org_id))
    with pytest.raises(ClientError) as refused:
        _trail(aws)  # admits Config only
    assert _code(refused) == "InsufficientS3BucketPolicyException"

    s3.put_bucket_policy(Bucket=BUCKET, Policy=_policy(org_id, trail_org=org_id))
    assert _trail(aws)["IsOrganizationTrail"] is True


def test_only_the_management_account_creates_an_organization_trail(aws: AwsSandbox) -> None:
    member = _new_account(aws)
    aws.client().enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    aws.member_client("s3", member).create_bucket(Bucket=BUCKET)
    with pytest.raises(ClientError) as refused:
        aws.member_client("cloudtrail", member).create_trail(Name="org", S3BucketName=BUCKET,
                                                             IsOrganizationTrail=True)
    assert _code(refused) == "NotOrganizationMasterAccountException"


def test_an_explicit_deny_in_the_bucket_policy_wins(aws: AwsSandbox) -> None:
    org_id = aws.ids["organization_id"]  # type: ignore[index]
    aws.client().enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    s3 = aws.service_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    policy = json.loads(_policy(org_id, trail_org=org_id))
    policy["Statement"].append({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                "Resource": f"arn:aws:s3:::{BUCKET}/*"})
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    with pytest.raises(ClientError) as refused:
        _trail(aws)
    assert _code(refused) == "InsufficientS3BucketPolicyException"


def _aggregator(aws: AwsSandbox, account: str, role: str) -> Any:
    return aws.member_client("config", account).put_configuration_aggregator(
        ConfigurationAggregatorName="org", OrganizationAggregationSource={
            "RoleArn": f"arn:aws:iam::{account}:role/{role}", "AllAwsRegions": True})


def test_an_organization_aggregator_needs_a_delegated_administrator_and_a_role_config_assumes(
        aws: AwsSandbox) -> None:
    archive = _new_account(aws)
    with pytest.raises(ClientError) as refused:
        _aggregator(aws, archive, "ConfigAggregator")
    assert _code(refused) == "OrganizationAccessDeniedException"

    org = aws.client()
    org.enable_aws_service_access(ServicePrincipal="config.amazonaws.com")
    org.register_delegated_administrator(AccountId=archive, ServicePrincipal="config.amazonaws.com")
    with pytest.raises(ClientError) as refused:
        _aggregator(aws, archive, "ConfigAggregator")  # no such role
    assert _code(refused) == "InvalidRoleException"

    aws.member_client("iam", archive).create_role(RoleName="ConfigAggregator", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    arn = _aggregator(aws, archive, "ConfigAggregator")["ConfigurationAggregator"]["ConfigurationAggregatorArn"]
    assert f":{archive}:" in arn


def _recorder(aws: AwsSandbox, account: str) -> Any:
    config = aws.member_client("config", account)
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": f"arn:aws:iam::{account}:role/aws-service-role/config.amazonaws.com/"
        "AWSServiceRoleForConfig", "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}})
    return config


def test_a_delivery_channel_into_another_account_s_bucket_needs_its_policy_to_admit_config(aws: AwsSandbox) -> None:
    org_id = aws.ids["organization_id"]  # type: ignore[index]
    archive, workload = _new_account(aws), _new_account(aws, "Workload")
    config = _recorder(aws, workload)
    with pytest.raises(ClientError) as refused:
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": BUCKET})
    assert _code(refused) == "NoSuchBucketException"

    s3 = aws.member_client("s3", archive)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=_policy(org_id, trail_org=org_id))  # CloudTrail only
    with pytest.raises(ClientError) as refused:
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": BUCKET})
    assert _code(refused) == "InsufficientDeliveryPolicyException"

    s3.put_bucket_policy(Bucket=BUCKET, Policy=_policy(org_id, config_org=org_id))
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": BUCKET})
    _recorder(aws, archive).put_delivery_channel(  # the bucket's own account needs no policy
        DeliveryChannel={"name": "default", "s3BucketName": BUCKET})
    assert config.describe_delivery_channels()["DeliveryChannels"][0]["s3BucketName"] == BUCKET


def test_bucket_names_are_global_and_resources_land_in_the_assumed_account(aws: AwsSandbox) -> None:
    archive = _new_account(aws)
    aws.member_client("s3", archive).create_bucket(Bucket=BUCKET)
    with pytest.raises(ClientError) as refused:
        aws.service_client("s3").create_bucket(Bucket=BUCKET)
    assert _code(refused) == "BucketAlreadyExists"
    assert BUCKET not in {b["Name"] for b in aws.service_client("s3").list_buckets()["Buckets"]}
    assert BUCKET in {b["Name"] for b in aws.member_client("s3", archive).list_buckets()["Buckets"]}


def test_block_public_policy_refuses_a_public_bucket_policy_and_admits_a_scoped_one(aws: AwsSandbox) -> None:
    org_id = aws.ids["organization_id"]  # type: ignore[index]
    s3 = aws.service_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    public = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]})
    s3.put_bucket_policy(Bucket=BUCKET, Policy=public)  # no public access block yet: stored
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_policy(Bucket=BUCKET, Policy=public)
    assert _code(refused) == "AccessDenied"
    s3.put_bucket_policy(Bucket=BUCKET, Policy=_policy(org_id, trail_org=org_id, config_org=org_id))  # not public
    scoped = json.loads(public)
    scoped["Statement"][0]["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": org_id}}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(scoped))  # everyone in this organization: not public


def test_a_trail_and_a_delivery_channel_fail_to_deliver_while_the_bucket_policy_denies_them(
        aws: AwsSandbox) -> None:
    """controller/sandbox/delivery.py: GetTrailStatus's LatestDeliveryError and DescribeDeliveryChannelStatus's
    lastStatus, from what the bucket policy admits at the time of the read; a fix clears them."""
    org_id = aws.ids["organization_id"]  # type: ignore[index]
    org = aws.client()
    for service in ("cloudtrail.amazonaws.com", "config.amazonaws.com"):
        org.enable_aws_service_access(ServicePrincipal=service)
    archive, member = _new_account(aws), _new_account(aws, "Member")
    s3 = aws.member_client("s3", archive)
    s3.create_bucket(Bucket=BUCKET)
    good = _policy(org_id, trail_org=org_id, config_org=org_id)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=good)
    _trail(aws)
    ct = aws.service_client("cloudtrail")
    ct.start_logging(Name="org")
    config = aws.member_client("config", member)
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": f"arn:aws:iam::{member}:role/aws-service-role/config.amazonaws.com/"
        "AWSServiceRoleForConfig", "recordingGroup": {"allSupported": True}})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": BUCKET})
    assert config.describe_delivery_channel_status()["DeliveryChannelsStatus"][0][
        "configHistoryDeliveryInfo"]["lastStatus"] == "Not_Applicable"  # not recording: nothing delivered yet
    config.start_configuration_recorder(ConfigurationRecorderName="default")

    healthy = ct.get_trail_status(Name="org")
    assert "LatestDeliveryError" not in healthy and healthy["LatestDeliveryTime"]
    (channel,) = config.describe_delivery_channel_status()["DeliveryChannelsStatus"]
    assert channel["configHistoryDeliveryInfo"]["lastStatus"] == "Success"

    # A Deny added by hand that catches the services' own deliveries (they carry the ACL header).
    deny = {"Effect": "Deny", "Principal": {"Service": ["cloudtrail.amazonaws.com", "config.amazonaws.com"]},
            "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*",
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}
    broken = json.loads(good)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({**broken, "Statement": broken["Statement"] + [deny]}))
    failing = ct.get_trail_status(Name="org")
    assert failing["IsLogging"] is True and failing["LatestDeliveryError"] == "AccessDenied"
    assert failing["LatestDeliveryTime"] == healthy["LatestDeliveryTime"]  # the last delivery that was made
    info = config.describe_delivery_channel_status()["DeliveryChannelsStatus"][0]["configHistoryDeliveryInfo"]
    assert (info["lastStatus"], info["lastErrorCode"]) == ("Failure", "AccessDenied")
    assert info["lastSuccessfulTime"] == channel["configHistoryDeliveryInfo"]["lastSuccessfulTime"]

    s3.put_bucket_policy(Bucket=BUCKET, Policy=good)
    assert "LatestDeliveryError" not in ct.get_trail_status(Name="org")
    info = config.describe_delivery_channel_status()["DeliveryChannelsStatus"][0]["configHistoryDeliveryInfo"]
    assert info["lastStatus"] == "Success" and "lastErrorCode" not in info
    with pytest.raises(ClientError) as refused:
        config.describe_delivery_channel_status(DeliveryChannelNames=["other"])
    assert _code(refused) == "NoSuchDeliveryChannelException"
